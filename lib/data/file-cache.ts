import "server-only";
import fs from "node:fs/promises";
import type { Stats } from "node:fs";

type Entry = { size: number; mtimeMs: number; value: unknown };

// Parsed files keyed by (loader, path) and checked against (size, mtime), so a request never
// re-reads a file that has not changed. Kept on globalThis to survive dev hot reload.
const g = globalThis as typeof globalThis & { __afsFileCache?: Map<string, Entry> };
const cache = (g.__afsFileCache ??= new Map());

export async function readCached<T>(
  { path, loader }: { path: string; loader: string },
  load: (stat: Stats) => Promise<T>,
): Promise<T> {
  const stat = await fs.stat(path);
  const key = `${loader}\0${path}`;
  const hit = cache.get(key);
  if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) return hit.value as T;
  const value = await load(stat);
  cache.set(key, { size: stat.size, mtimeMs: stat.mtimeMs, value });
  return value;
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
