import "server-only";
import { getEnv } from "@/lib/env";
import { storeFailure } from "@/lib/errors";
import { getDb } from "./db";

export type Sighting = "model" | "run";

// Kept in memory too: read once per process, and the fallback while the store cannot be written.
const g = globalThis as typeof globalThis & { __afsFirstSeen?: Map<string, string> };
const seen = (g.__afsFirstSeen ??= new Map());

// When the dashboard first saw this model (or its run's records): recorded the first time it is
// asked, and the same answer ever after.
export function firstSeen({ key, subject, now }: { key: string; subject: Sighting; now: number }): string {
  const id = `${getEnv().dbPath}\0${key}\0${subject}`;
  const known = seen.get(id);
  if (known) return known;
  let at = new Date(now).toISOString();
  try {
    const db = getDb();
    db.prepare("INSERT OR IGNORE INTO first_seen (model_key, subject, at) VALUES (?, ?, ?)").run(key, subject, at);
    at = (db.prepare("SELECT at FROM first_seen WHERE model_key = ? AND subject = ?").get(key, subject) as { at: string }).at;
  } catch (error) {
    // A read-only store keeps the sighting for this process only.
    if (!storeFailure(error)) throw error;
  }
  seen.set(id, at);
  return at;
}
