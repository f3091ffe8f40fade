import "server-only";
import fs from "node:fs/promises";
import { slicer, SLICE_ITEMS } from "@/lib/slices";

export type TaggedPoint = { tag: string; step: number; value: number; wall_time: number | null };

export type ChunkRead = {
  points: TaggedPoint[];
  next_offset: number;
  bytes_read: number;
  skipped: number;
  // Records whose time was implausible (see plausibleTime): kept, without a time.
  bad_times: number;
  halted: string | null;
  // Whether the read ended inside a line too long to keep, whose rest the next read passes over.
  skipping_line: boolean;
};

export type ReadRange = { fromOffset: number; toOffset: number; skippingLine: boolean };

const EARLIEST_MS = Date.UTC(2000, 0, 1);
const AHEAD_MS = 86_400_000;

// A record time the dashboard can use: not before 2000, nor more than a day ahead of the clock.
// Anything else (a missing time read as 1970, a broken clock, 1e300) would invent hours, cost
// and staleness, so it becomes no time at all.
export function plausibleTime(ms: number | null, now: number): number | null {
  return ms !== null && ms >= EARLIEST_MS && ms <= now + AHEAD_MS ? ms : null;
}

export type FileTail = {
  points: readonly TaggedPoint[];
  offset: number;
  size: number;
  mtime_ms: number;
  // Records or lines skipped as corrupt, and records whose time was dropped, since the file was first read.
  skipped: number;
  bad_times: number;
  halted: string | null;
  // The latest call's read: where it started and how much it read (0 when nothing was appended).
  last_read: { from_offset: number; bytes_read: number };
};

type TailState = FileTail & { ino: number; dev: number; points: TaggedPoint[]; skipping_line: boolean };

// Per-file read state, kept on globalThis so dev hot reload does not re-read every file.
const g = globalThis as typeof globalThis & {
  __afsRunTails?: Map<string, TailState>;
  __afsRunTailLocks?: Map<string, Promise<FileTail>>;
};
const tails = (g.__afsRunTails ??= new Map());
const locks = (g.__afsRunTailLocks ??= new Map());

// Reads only what was appended to `path` since the last call and returns everything read so
// far. Starts over when the file shrank or was replaced (another inode). Calls for one path run
// one at a time, so two requests never append the same chunk twice.
export function tailFile({
  path,
  read,
}: {
  path: string;
  read: (range: ReadRange) => Promise<ChunkRead>;
}): Promise<FileTail> {
  const next = (locks.get(path) ?? Promise.resolve())
    .catch(() => undefined)
    .then(() => advanceTail({ path, read }));
  locks.set(path, next);
  return next.finally(() => {
    if (locks.get(path) === next) locks.delete(path);
  });
}

async function advanceTail({
  path,
  read,
}: {
  path: string;
  read: (range: ReadRange) => Promise<ChunkRead>;
}): Promise<FileTail> {
  const stat = await fs.stat(path);
  let state = tails.get(path);
  if (!state || state.ino !== stat.ino || state.dev !== stat.dev || stat.size < state.offset) {
    state = {
      ino: stat.ino,
      dev: stat.dev,
      points: [],
      offset: 0,
      size: 0,
      mtime_ms: 0,
      skipped: 0,
      bad_times: 0,
      halted: null,
      skipping_line: false,
      last_read: { from_offset: 0, bytes_read: 0 },
    };
    tails.set(path, state);
  }
  state.size = stat.size;
  state.mtime_ms = stat.mtimeMs;
  state.last_read = { from_offset: state.offset, bytes_read: 0 };
  if (state.halted || stat.size === state.offset) return snapshot(state);

  const chunk = await read({ fromOffset: state.offset, toOffset: stat.size, skippingLine: state.skipping_line });
  const pause = slicer();
  for (let i = 0; i < chunk.points.length; i++) {
    if (i % SLICE_ITEMS === 0) await pause();
    state.points.push(chunk.points[i]);
  }
  state.offset = chunk.next_offset;
  state.skipped += chunk.skipped;
  state.bad_times += chunk.bad_times;
  state.halted = chunk.halted;
  state.skipping_line = chunk.skipping_line;
  state.last_read.bytes_read = chunk.bytes_read;
  return snapshot(state);
}

function snapshot({ points, offset, size, mtime_ms, skipped, bad_times, halted, last_read }: TailState): FileTail {
  return { points, offset, size, mtime_ms, skipped, bad_times, halted, last_read };
}

// Drops the state of files under `dir` that are no longer there, so deleted runs free memory.
export function forgetTails({ dir, keep }: { dir: string; keep: ReadonlySet<string> }): void {
  for (const path of tails.keys()) {
    if (path.startsWith(dir) && !keep.has(path)) tails.delete(path);
  }
}
