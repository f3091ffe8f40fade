import "server-only";
import fs from "node:fs/promises";
import type { Stats } from "node:fs";
import { sep } from "node:path";

type Entry = { size: number; mtimeMs: number; value: unknown };

// Parsed files keyed by (loader, path) and checked against (size, mtime), so a request never
// re-reads a file that has not changed. Kept on globalThis to survive dev hot reload.
const g = globalThis as typeof globalThis & { __afsFileCache?: Map<string, Entry>; __afsFileLoads?: Map<string, Promise<unknown>> };
const cache = (g.__afsFileCache ??= new Map());
// Loads in progress, so concurrent requests on a cold cache read a big file once, not once each.
const loading = (g.__afsFileLoads ??= new Map());

export async function readCached<T>(
  { path, loader, root }: { path: string; loader: string; root: string },
  load: (stat: Stats) => Promise<T>,
): Promise<T> {
  const stat = await statReadable({ path, root });
  const key = `${loader}\0${path}`;
  const hit = cache.get(key);
  if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) return hit.value as T;
  const version = `${key}\0${stat.size}\0${stat.mtimeMs}`;
  let pending = loading.get(version) as Promise<T> | undefined;
  if (!pending) {
    pending = load(stat)
      .then((value) => {
        cache.set(key, { size: stat.size, mtimeMs: stat.mtimeMs, value });
        return value;
      })
      .finally(() => loading.delete(version));
    loading.set(version, pending);
  }
  return pending;
}

// A data file's stat, once it is known to be one the dashboard may read: a regular file (a FIFO,
// socket or device could block a read for good or never end) whose real path is inside `root`
// (a link must not carry another file's bytes into an answer). Throws with the reason otherwise.
export async function statReadable({ path, root }: { path: string; root: string }): Promise<Stats> {
  const stat = await fs.stat(path);
  if (!stat.isFile()) throw new Error("not a regular file");
  const [real, realRoot] = await Promise.all([fs.realpath(path), fs.realpath(root)]);
  if (!real.startsWith(realRoot + sep)) throw new Error("resolves outside the data dir; not read");
  return stat;
}
