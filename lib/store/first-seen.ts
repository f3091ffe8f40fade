import "server-only";
import { getEnv } from "@/lib/env";
import { storeFailure } from "@/lib/errors";
import { getDb } from "./db";

export type Sighting = "model" | "run";

// Every sighting in memory, read from the store once per process; new ones wait in `unsaved`
// until saveFirstSeen writes them in one transaction (a thousand new models, one fsync), and
// stay there while the store cannot be written.
const g = globalThis as typeof globalThis & { __afsFirstSeen?: { dbPath: string; seen: Map<string, string>; unsaved: [string, Sighting, string][] } };

function sightings() {
  const { dbPath } = getEnv();
  if (g.__afsFirstSeen?.dbPath === dbPath) return g.__afsFirstSeen;
  const seen = new Map<string, string>();
  try {
    const rows = getDb().prepare("SELECT model_key, subject, at FROM first_seen").all() as { model_key: string; subject: Sighting; at: string }[];
    for (const row of rows) seen.set(`${row.model_key}\0${row.subject}`, row.at);
  } catch (error) {
    if (!storeFailure(error)) throw error;
  }
  return (g.__afsFirstSeen = { dbPath, seen, unsaved: [] });
}

// When the dashboard first saw this model (or its run's records): `now` the first time it is
// asked, and the same answer ever after.
export function firstSeen({ key, subject, now }: { key: string; subject: Sighting; now: number }): string {
  const { seen, unsaved } = sightings();
  const id = `${key}\0${subject}`;
  const known = seen.get(id);
  if (known) return known;
  const at = new Date(now).toISOString();
  seen.set(id, at);
  unsaved.push([key, subject, at]);
  return at;
}

export function saveFirstSeen(): void {
  const { unsaved } = sightings();
  if (!unsaved.length) return;
  try {
    const db = getDb();
    const insert = db.prepare("INSERT OR IGNORE INTO first_seen (model_key, subject, at) VALUES (?, ?, ?)");
    db.transaction(() => {
      for (const row of unsaved) insert.run(...row);
    })();
    unsaved.length = 0;
  } catch (error) {
    // A read-only store keeps the sightings for this process, and they are saved once it can.
    if (!storeFailure(error)) throw error;
  }
}
