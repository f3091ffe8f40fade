import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { describeError, isMissing } from "@/lib/errors";
import { MAX_RUN_DEPTH, runFileKind } from "@/lib/runs/scan";
import type { Host } from "@/lib/schemas/api";
import { modelKeySchema } from "@/lib/schemas/config";
import type { HostConnection, RemoteStat } from "./ssh";

// How far a remote file was copied: for an event file or JSONL log, `offset` is the bytes
// appended to the mirror; for trainer_state.json, the size of the copy, taken when the remote
// file had `size` and `mtime_ms`.
export type RemoteFileState = { offset: number; size: number; mtime_ms: number };
// What /api/hosts reports of the copy (its `runs`).
export type RunSyncStats = NonNullable<Host["runs"]>;

// `id` is "<key>/<relative path>", the store's name for the file.
type Tracked = RemoteFileState & { id: string; key: string; whole: boolean; remote: string; mirror: string };

// Files copied at once: enough to hide SFTP round trips, few enough that chunks in memory stay small.
const PARALLEL_FILES = 4;

// Copies a remote host's run files over SFTP into <mirrorDir>/runs/<key>/..., laid out like a
// data dir so the local run readers read them unchanged, and keeps what was copied when the
// host is gone. Event files and JSONL logs are copied by appending what grew; trainer_state.json
// whole when it changes. How far each file got is saved through `offsets`, so a restart neither
// downloads whole files again nor appends a chunk twice.
export function startRunSync(opts: {
  host: string;
  conn: Pick<HostConnection, "status" | "sftp">;
  runsDir: string;
  keys: () => string[];
  mirrorDir: string;
  offsets: {
    load: () => Promise<Map<string, RemoteFileState>>;
    save: (files: ({ path: string } & RemoteFileState)[]) => Promise<void>;
    forget: (paths: string[]) => Promise<void>;
  };
  onChange: (keys: string[]) => void;
  syncIntervalMs?: number;
  listIntervalMs?: number;
  maxFiles?: number;
  chunkBytes?: number;
}): { stop: () => Promise<void>; syncNow: () => Promise<void>; stats: () => RunSyncStats } {
  const { host, conn, runsDir, keys, mirrorDir, offsets, onChange } = opts;
  const { syncIntervalMs = 2000, listIntervalMs = 30_000, maxFiles = 10_000, chunkBytes = 8 * 1024 * 1024 } = opts;
  const files = new Map<string, Tracked>();
  // Keys listed since the last full listing: a newly configured key is listed on the next pass.
  const listed = new Set<string>();
  let loaded = false;
  let listDueAt = 0;
  let bytesRead = 0;
  let lastSync: string | null = null;
  let error: string | null = null;
  let stopped = false;
  let timer: NodeJS.Timeout | null = null;
  let running: Promise<void> = Promise.resolve();
  let queued: Promise<void> | null = null;

  // Null for a name that could leave <mirrorDir>/runs/<key>/ or that the run readers ignore.
  const toTracked = (id: string, state: RemoteFileState): Tracked | null => {
    const [key, ...parts] = id.split("/");
    const kind = runFileKind({ name: parts.at(-1) ?? "" });
    if (!modelKeySchema.safeParse(key).success || !kind || !parts.every(isSafeName)) return null;
    return {
      id,
      key,
      whole: kind === "trainer_state",
      remote: path.posix.join(runsDir, key, ...parts),
      mirror: path.join(mirrorDir, "runs", key, ...parts),
      ...state,
    };
  };

  const save = (f: Tracked) => offsets.save([{ path: f.id, offset: f.offset, size: f.size, mtime_ms: f.mtime_ms }]);

  // Remote bytes [from, to), at most one chunk of them.
  const readChunk = async (f: Tracked, from: number, to: number) => {
    const chunk = await conn.sftp.readRange(f.remote, from, Math.min(to, from + chunkBytes));
    bytesRead += chunk.length;
    return chunk;
  };

  // The run files under <runsDir>/<key>/, relative to it, within the depth the local scanner
  // reads. Byte order, as that scanner, so the same files are the first maxFiles.
  const listRunFiles = async (key: string): Promise<string[]> => {
    const found: string[] = [];
    const walk = async (rel: string[], depth: number) => {
      const entries = (await conn.sftp.list(path.posix.join(runsDir, key, ...rel))) ?? [];
      entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
      for (const entry of entries) {
        if (!isSafeName(entry.name) || entry.isSymlink) continue;
        if (entry.isDirectory && depth < MAX_RUN_DEPTH) await walk([...rel, entry.name], depth + 1);
        else if (entry.isFile && runFileKind({ name: entry.name }) && found.length < maxFiles) found.push([...rel, entry.name].join("/"));
      }
    };
    await walk([], 0);
    return found;
  };

  // Tracks the files now listed for these keys and forgets the offsets of those no longer there
  // (their mirror copies stay). A key's folder that is a symlink is not followed.
  const listKeys = async (toList: string[]) => {
    const folders = (await conn.sftp.list(runsDir)) ?? [];
    for (const key of toList) {
      const listedIds = folders.some((e) => e.name === key && e.isDirectory) ? (await listRunFiles(key)).map((rel) => `${key}/${rel}`) : [];
      const ids = new Set(listedIds);
      const gone = [...files.values()].filter((f) => f.key === key && !ids.has(f.id)).map((f) => f.id);
      if (gone.length > 0) await offsets.forget(gone);
      for (const id of gone) files.delete(id);
      for (const id of ids) {
        const f = files.has(id) ? null : toTracked(id, { offset: 0, size: 0, mtime_ms: 0 });
        if (f) files.set(id, f);
      }
      listed.add(key);
    }
  };

  // Each writes the mirror copy of f when the remote changed, and adds f's key to `changed` as
  // soon as it does, so a pass that fails later still reports it.
  const syncAppend = async (f: Tracked, remote: RemoteStat, changed: Set<string>) => {
    const local = await localSize(f.mirror);
    if (local === f.offset && remote.size === f.offset) return;
    changed.add(f.key);
    // A new file, a remote file that shrank (replaced or truncated) or a mirror that lost bytes:
    // copy from 0 into a new file, whose new inode makes the local readers start over too.
    let fresh = f.offset === 0 || local === null || local < f.offset || remote.size < f.offset;
    if (fresh) f.offset = 0;
    // Stopped between an append and its save: cut back to the saved offset and read that chunk again.
    else if (local! > f.offset) await fs.truncate(f.mirror, f.offset);
    f.size = remote.size;
    f.mtime_ms = remote.mtimeMs;
    for (;;) {
      const chunk = await readChunk(f, f.offset, remote.size);
      const target = fresh ? await newTempFile(f.mirror) : f.mirror;
      await fs.appendFile(target, chunk);
      if (fresh) await fs.rename(target, f.mirror);
      fresh = false;
      f.offset += chunk.length;
      // After the append, so a crash in between reads the chunk again rather than losing it.
      await save(f);
      if (stopped || chunk.length === 0 || f.offset >= remote.size) return;
    }
  };

  const syncWhole = async (f: Tracked, remote: RemoteStat, changed: Set<string>) => {
    const local = await localSize(f.mirror);
    if (local === f.offset && remote.size === f.size && remote.mtimeMs === f.mtime_ms) return;
    const temp = await newTempFile(f.mirror);
    let copied = 0;
    while (copied < remote.size && !stopped) {
      const chunk = await readChunk(f, copied, remote.size);
      if (chunk.length === 0) break;
      await fs.appendFile(temp, chunk);
      copied += chunk.length;
    }
    // Cut short (rewritten while read, or stopping): the mirror keeps its last whole copy until the next pass.
    if (copied < remote.size) return;
    // The local reader falls back to a file's mtime for the time of its last record.
    await fs.utimes(temp, new Date(), new Date(remote.mtimeMs));
    await fs.rename(temp, f.mirror);
    changed.add(f.key);
    Object.assign(f, { offset: copied, size: remote.size, mtime_ms: remote.mtimeMs });
    await save(f);
  };

  const syncFile = async (f: Tracked, changed: Set<string>) => {
    if (stopped) return;
    try {
      const remote = await conn.sftp.stat(f.remote);
      // Gone since the last listing: what was copied stays, and the next listing forgets it.
      if (!remote) return;
      await (f.whole ? syncWhole(f, remote, changed) : syncAppend(f, remote, changed));
    } catch (err) {
      throw new Error(`${f.id}: ${describeError(err)}`);
    }
  };

  const syncAll = async (changed: Set<string>) => {
    if (!loaded) {
      for (const [id, state] of await offsets.load()) {
        const f = toTracked(id, state);
        if (f) files.set(id, f);
      }
      loaded = true;
    }
    const wanted = new Set(keys().filter((k) => modelKeySchema.safeParse(k).success));
    if (Date.now() >= listDueAt) {
      listed.clear();
      listDueAt = Date.now() + listIntervalMs;
    }
    const unlisted = [...wanted].filter((k) => !listed.has(k));
    if (unlisted.length > 0) await listKeys(unlisted);
    await eachLimited({
      items: [...files.values()].filter((f) => wanted.has(f.key)),
      limit: PARALLEL_FILES,
      fn: (f) => syncFile(f, changed),
    });
  };

  const pass = async () => {
    const changed = new Set<string>();
    try {
      if (stopped || conn.status().state !== "online") return;
      try {
        await syncAll(changed);
      } finally {
        // Also after a failed pass: what was copied before the failure is in the mirror.
        if (changed.size > 0) onChange([...changed].sort());
      }
      lastSync = new Date().toISOString();
      error = null;
    } catch (err) {
      error = `${host}: ${describeError(err)}`;
    }
  };

  // One pass at a time; callers while one runs share the single pass queued after it, so
  // whatever was on the remote when they asked is copied when their promise settles.
  const queuePass = (): Promise<void> => {
    if (!queued) {
      queued = running.then(() => {
        queued = null;
        return pass();
      });
      running = queued;
    }
    return queued;
  };

  const loop = () => {
    if (stopped) return;
    timer = setTimeout(() => void queuePass().then(loop), syncIntervalMs);
    timer.unref();
  };
  void queuePass().then(loop);

  return {
    stop: async () => {
      stopped = true;
      if (timer) clearTimeout(timer);
      await running;
    },
    syncNow: () => {
      listDueAt = 0;
      return queuePass();
    },
    stats: () => ({ files: files.size, bytes_read: bytesRead, last_sync: lastSync, error }),
  };
}

// One path segment named by the remote, which is not trusted: nothing that climbs or nests.
function isSafeName(name: string): boolean {
  return name !== "" && name !== "." && name !== ".." && !/[/\0]/.test(name);
}

async function localSize(file: string): Promise<number | null> {
  const stat = await fs.stat(file).catch((err: unknown) => {
    if (isMissing(err)) return null;
    throw err;
  });
  return stat?.size ?? null;
}

// An empty file beside `file`, to be renamed over it once written: readers never see half a
// trainer_state.json, and the new inode makes the local readers start over. Its name is one the
// run scanner ignores (not an event file, .jsonl or trainer_state.json).
async function newTempFile(file: string): Promise<string> {
  const temp = path.join(path.dirname(file), `.${path.basename(file)}.sync-tmp`);
  await fs.mkdir(path.dirname(file), { recursive: true });
  await fs.writeFile(temp, "");
  return temp;
}

// Runs fn over items, `limit` at a time; every item is tried, then the first failure is thrown.
async function eachLimited<T>({ items, limit, fn }: { items: T[]; limit: number; fn: (item: T) => Promise<void> }) {
  const failures: unknown[] = [];
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++];
      await fn(item).catch((err: unknown) => failures.push(err));
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  if (failures.length > 0) throw failures[0];
}
