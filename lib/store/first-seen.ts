import "server-only";
import { getStore } from "./db";

export type Sighting = "model" | "run";

// Every sighting in memory, read from the store once per process; new ones wait in `unsaved`
// until saveSightings writes them in one transaction (a thousand new models, one commit), and
// stay there while the store cannot be written.
export type Sightings = { seen: Map<string, string>; unsaved: Map<string, [string, Sighting, string]> };

export async function loadSightings(): Promise<Sightings> {
  const { db } = await getStore();
  const rows = await db.selectFrom("first_seen").select(["model_key", "subject", "at"]).execute();
  return { seen: new Map(rows.map((r) => [`${r.model_key}\0${r.subject}`, r.at])), unsaved: new Map() };
}

// When the dashboard first saw this model (or its run's records): `now` the first time it is
// asked, and the same answer ever after.
export function firstSeen(sightings: Sightings, { key, subject, now }: { key: string; subject: Sighting; now: number }): string {
  const id = `${key}\0${subject}`;
  const known = sightings.seen.get(id);
  if (known) return known;
  const at = new Date(now).toISOString();
  sightings.seen.set(id, at);
  sightings.unsaved.set(id, [key, subject, at]);
  return at;
}

// Another process on the same database may have seen a model first: the stored sighting wins,
// and is read back, so every process gives the same answer from then on.
export async function saveSightings(sightings: Sightings): Promise<void> {
  const batch = [...sightings.unsaved];
  if (!batch.length) return;
  const { db } = await getStore();
  const stored = await db.transaction().execute(async (trx) => {
    for (let i = 0; i < batch.length; i += 500) {
      const rows = batch.slice(i, i + 500).map(([, [model_key, subject, at]]) => ({ model_key, subject, at }));
      await trx.insertInto("first_seen").values(rows).onConflict((oc) => oc.doNothing()).execute();
    }
    return trx.selectFrom("first_seen").select(["model_key", "subject", "at"]).where("model_key", "in", [...new Set(batch.map(([, [key]]) => key))]).execute();
  });
  for (const [id] of batch) sightings.unsaved.delete(id);
  for (const r of stored) sightings.seen.set(`${r.model_key}\0${r.subject}`, r.at);
}
