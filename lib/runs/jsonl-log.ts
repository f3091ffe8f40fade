import "server-only";
import fs from "node:fs/promises";
import { parseJsonLenient } from "./json";
import { plausibleTime, tailFile, type ChunkRead, type FileTail, type TaggedPoint } from "./tail";

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;
// Fields that time a row rather than measure something.
const TIME_FIELDS = ["wall_time", "time", "timestamp"];

// The points in the complete lines in [fromOffset, toOffset) of a JSONL log: one object per
// line with a numeric `step`, every other finite number a tag. A last line without its newline
// is still being written and is left for a later read; a line that is not such an object is
// skipped and counted.
export async function readJsonlLog({
  path,
  fromOffset,
  toOffset,
}: {
  path: string;
  fromOffset: number;
  toOffset: number;
}): Promise<ChunkRead> {
  const points: TaggedPoint[] = [];
  let skipped = 0;
  let badTimes = 0;
  const now = Date.now();
  let pos = fromOffset; // file offset of pending[0], always a line start
  let pending = Buffer.alloc(0);
  let bytesRead = 0;
  const handle = await fs.open(path, "r");
  try {
    while (pos + pending.length < toOffset) {
      const end = pos + pending.length;
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, toOffset - end));
      const { bytesRead: n } = await handle.read(chunk, 0, chunk.length, end);
      if (n === 0) break;
      bytesRead += n;
      pending = pending.length ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      // Splitting bytes on \n is safe for UTF-8: the byte never occurs inside a multi-byte character.
      for (let nl = pending.indexOf(NEWLINE, start); nl !== -1; nl = pending.indexOf(NEWLINE, start)) {
        const line = pending.toString("utf8", start, nl).trim();
        start = nl + 1;
        if (!line) continue;
        const row = parseRow({ line, now });
        if (!row) skipped += 1;
        else {
          if (row.bad_time) badTimes += 1;
          for (const point of row.points) points.push(point);
        }
      }
      pos += start;
      pending = pending.subarray(start);
    }
  } finally {
    await handle.close();
  }
  return { points, next_offset: pos, bytes_read: bytesRead, skipped, bad_times: badTimes, halted: null };
}

export function tailJsonlLog({ path }: { path: string }): Promise<FileTail> {
  return tailFile({ path, read: ({ fromOffset, toOffset }) => readJsonlLog({ path, fromOffset, toOffset }) });
}

function parseRow({ line, now }: { line: string; now: number }): { points: TaggedPoint[]; bad_time: boolean } | null {
  const row = parseJsonLenient({ text: line });
  if (!row || typeof row !== "object" || Array.isArray(row)) return null;
  const fields = row as Record<string, unknown>;
  if (typeof fields.step !== "number" || !Number.isFinite(fields.step)) return null;
  const step = fields.step;
  const written = readTime({ fields });
  const wallTime = plausibleTime(written, now);
  const points: TaggedPoint[] = [];
  for (const [tag, value] of Object.entries(fields)) {
    if (tag === "step" || TIME_FIELDS.includes(tag)) continue;
    if (typeof value === "number" && Number.isFinite(value)) points.push({ tag, step, value, wall_time: wallTime });
  }
  return { points, bad_time: written !== null && wallTime === null };
}

// Epoch seconds or milliseconds, or an ISO string; in ms.
function readTime({ fields }: { fields: Record<string, unknown> }): number | null {
  for (const name of TIME_FIELDS) {
    const value = fields[name];
    if (typeof value === "number" && Number.isFinite(value)) return value > 1e11 ? value : value * 1000;
    if (typeof value === "string") {
      const ms = Date.parse(value);
      if (Number.isFinite(ms)) return ms;
    }
  }
  return null;
}
