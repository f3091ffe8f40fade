import "server-only";
import fs from "node:fs/promises";
import type { Stats } from "node:fs";

type Entry = { size: number; mtimeMs: number; value: unknown };

// Parsed files keyed by (loader, path) and checked against (size, mtime), so a request never
// re-reads a file that has not changed. Kept on globalThis to survive dev hot reload.
const g = globalThis as typeof globalThis & { __afsFileCache?: Map<string, Entry>; __afsFileLoads?: Map<string, Promise<unknown>> };
const cache = (g.__afsFileCache ??= new Map());
// Loads in progress, so concurrent requests on a cold cache read a big file once, not once each.
const loading = (g.__afsFileLoads ??= new Map());

export async function readCached<T>(
  { path, loader }: { path: string; loader: string },
  load: (stat: Stats) => Promise<T>,
): Promise<T> {
  const stat = await fs.stat(path);
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
