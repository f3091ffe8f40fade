import "server-only";
import { getStore } from "./db";

// An SSH host key pinned on first use: `line` is its known_hosts line.
export type PinnedHostKey = { host: string; line: string; fingerprint: string; pinned_at: string };

export async function loadHostKeys(): Promise<PinnedHostKey[]> {
  const { db } = await getStore();
  return db.selectFrom("host_keys").selectAll().orderBy("host").execute();
}

// Pins the key unless the host has one already: the first pin wins, also between processes on
// one PostgreSQL, and every caller gets back the key now pinned, to check the one it was shown.
export async function pinHostKey({ host, line, fingerprint }: { host: string; line: string; fingerprint: string }): Promise<PinnedHostKey> {
  const { db } = await getStore();
  await db
    .insertInto("host_keys")
    .values({ host, line, fingerprint, pinned_at: new Date().toISOString() })
    .onConflict((oc) => oc.column("host").doNothing())
    .execute();
  return db.selectFrom("host_keys").selectAll().where("host", "=", host).executeTakeFirstOrThrow();
}
