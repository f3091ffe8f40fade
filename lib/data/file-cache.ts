import "server-only";
import { constants, type Stats } from "node:fs";
import fs from "node:fs/promises";
import { basename, dirname, join, sep } from "node:path";
import { getEnv } from "@/lib/env";
import { describeError } from "@/lib/errors";

type Entry = { size: number; mtimeMs: number } & ({ ok: true; value: unknown } | { ok: false; error: string });

// Parsed files keyed by (loader, path) and checked against (size, mtime), so a request never
// re-reads a file that has not changed, nor one that failed (until it changes). Kept on
// globalThis to survive dev hot reload.
const g = globalThis as typeof globalThis & { __afsFileCache?: Map<string, Entry>; __afsFileLoads?: Map<string, Promise<unknown>> };
const cache = (g.__afsFileCache ??= new Map());
// Loads in progress, so concurrent requests on a cold cache read a big file once, not once each.
const loading = (g.__afsFileLoads ??= new Map());

// A JSON document of the data dir as text, parsed by `parse` and cached. Refuses what the
// dashboard must not read (see openDataFile) and documents over AFS_MAX_JSON_BYTES, whose
// parse alone would take seconds and gigabytes. Throws with the reason.
export async function readCached<T>(
  { path, loader, root }: { path: string; loader: string; root: string },
  parse: (text: string, stat: Stats) => Promise<T>,
): Promise<T> {
  const stat = await statReadable({ path, root });
  const key = `${loader}\0${path}`;
  const hit = cache.get(key);
  if (hit && hit.size === stat.size && hit.mtimeMs === stat.mtimeMs) {
    if (hit.ok) return hit.value as T;
    throw new Error(hit.error);
  }
  const version = `${key}\0${stat.size}\0${stat.mtimeMs}`;
  let pending = loading.get(version) as Promise<T> | undefined;
  if (!pending) {
    const remember = (entry: Entry) => cache.set(key, entry);
    pending = readText({ path, root, stat })
      .then((text) => parse(text, stat))
      .then(
        (value) => {
          remember({ size: stat.size, mtimeMs: stat.mtimeMs, ok: true, value });
          return value;
        },
        (error) => {
          remember({ size: stat.size, mtimeMs: stat.mtimeMs, ok: false, error: describeError(error) });
          throw error;
        },
      )
      .finally(() => loading.delete(version));
    loading.set(version, pending);
  }
  return pending;
}

async function readText({ path, root, stat }: { path: string; root: string; stat: Stats }): Promise<string> {
  const { jsonBytes } = getEnv().limits;
  if (stat.size > jsonBytes) throw new Error(`${mib(stat.size)} is over AFS_MAX_JSON_BYTES (${mib(jsonBytes)}); not read`);
  const { handle, stat: opened } = await openDataFile({ path, root });
  try {
    // Read no more than the limit, even if the file grew since it was measured.
    const buffer = Buffer.allocUnsafe(Math.min(opened.size, jsonBytes));
    let filled = 0;
    while (filled < buffer.length) {
      const { bytesRead } = await handle.read(buffer, filled, buffer.length - filled, filled);
      if (bytesRead === 0) break;
      filled += bytesRead;
    }
    return buffer.toString("utf8", 0, filled);
  } finally {
    await handle.close();
  }
}

// Real paths of folders, looked up once per refresh of the data dir (which clears them): a
// sweep over 10,000 files must not resolve the same folders 10,000 times.
const realDirs = new Map<string, Promise<string>>();

export function forgetRealPaths(): void {
  realDirs.clear();
}

function realDir(dir: string): Promise<string> {
  let real = realDirs.get(dir);
  if (!real) realDirs.set(dir, (real = fs.realpath(dir)));
  return real;
}

// A data file's stat, once it is known to be one the dashboard may read: a regular file (a FIFO,
// socket or device could block a read for good or never end) whose real path is inside `root`
// (a link must not carry another file's bytes into an answer). Throws with the reason otherwise.
export async function statReadable({ path, root }: { path: string; root: string }): Promise<Stats> {
  const own = await fs.lstat(path);
  const link = own.isSymbolicLink();
  const stat = link ? await fs.stat(path) : own;
  if (!stat.isFile()) throw new Error("not a regular file; not read");
  const real = link ? await fs.realpath(path) : join(await realDir(dirname(path)), basename(path));
  if (!real.startsWith((await realDir(root)) + sep)) throw new Error("resolves outside the data dir; not read");
  return stat;
}

// Opens a data file that statReadable accepts, without blocking (a FIFO swapped in after the
// check must not hang the read), and checks the open descriptor is still that regular file.
export async function openDataFile({ path, root }: { path: string; root: string }): Promise<{ handle: fs.FileHandle; stat: Stats }> {
  const checked = await statReadable({ path, root });
  const handle = await fs.open(path, constants.O_RDONLY | constants.O_NONBLOCK);
  try {
    const stat = await handle.stat();
    if (!stat.isFile() || stat.ino !== checked.ino || stat.dev !== checked.dev) throw new Error("replaced while being opened; not read");
    return { handle, stat };
  } catch (error) {
    await handle.close();
    throw error;
  }
}

// A size for a warning: "64 MiB", or bytes below a MiB.
export function mib(bytes: number): string {
  return bytes < 2 ** 20 ? `${bytes} bytes` : `${Math.round((bytes / 2 ** 20) * 10) / 10} MiB`;
}
