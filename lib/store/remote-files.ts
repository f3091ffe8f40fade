import "server-only";
import { getStore } from "./db";

// How far a remote run file was copied, and the size and mtime (epoch ms, whole) it had then.
export type RemoteFile = { offset: number; size: number; mtime_ms: number };

// One host's files by path.
export async function loadRemoteFiles({ host }: { host: string }): Promise<Map<string, RemoteFile>> {
  const { db } = await getStore();
  const rows = await db.selectFrom("remote_files").select(["path", "read_offset", "size", "mtime_ms"]).where("host", "=", host).execute();
  return new Map(rows.map((r) => [r.path, { offset: r.read_offset, size: r.size, mtime_ms: r.mtime_ms }]));
}

// All of them in one transaction, so a restart never sees some files moved on and others not.
export async function saveRemoteFiles({ host, files }: { host: string; files: (RemoteFile & { path: string })[] }): Promise<void> {
  if (!files.length) return;
  const { db } = await getStore();
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < files.length; i += 500) {
      const rows = files.slice(i, i + 500).map((f) => ({ host, path: f.path, read_offset: f.offset, size: f.size, mtime_ms: f.mtime_ms }));
      await trx
        .insertInto("remote_files")
        .values(rows)
        .onConflict((oc) =>
          oc.columns(["host", "path"]).doUpdateSet((eb) => ({ read_offset: eb.ref("excluded.read_offset"), size: eb.ref("excluded.size"), mtime_ms: eb.ref("excluded.mtime_ms") })),
        )
        .execute();
    }
  });
}

export async function forgetRemoteFiles({ host, paths }: { host: string; paths: string[] }): Promise<void> {
  if (!paths.length) return;
  const { db } = await getStore();
  await db.transaction().execute(async (trx) => {
    for (let i = 0; i < paths.length; i += 500) {
      await trx.deleteFrom("remote_files").where("host", "=", host).where("path", "in", paths.slice(i, i + 500)).execute();
    }
  });
}
