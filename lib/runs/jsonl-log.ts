import "server-only";
import { openDataFile } from "@/lib/data/file-cache";
import { duplicateKeys, parseJson } from "@/lib/data/json";
import { getEnv } from "@/lib/env";
import { plausibleTime, tailFile, type ChunkRead, type FileTail, type TaggedPoint } from "./tail";

const CHUNK_BYTES = 1 << 20;
const NEWLINE = 0x0a;
// Fields that time a row rather than measure something.
const TIME_FIELDS = ["wall_time", "time", "timestamp"];

// The points in the complete lines in [fromOffset, toOffset) of a JSONL log: one object per
// line with a numeric `step`, every other number a tag. A last line without its newline is still
// being written and is left for a later read; a line that is not such an object is skipped and
// counted, and so is one longer than AFS_MAX_LINE_BYTES, without being kept in memory: its
// bytes are passed over up to its newline, in this read and the next (`skippingLine`).
export async function readJsonlLog({
  path,
  root,
  fromOffset,
  toOffset,
  skippingLine,
}: {
  path: string;
  root: string;
  fromOffset: number;
  toOffset: number;
  skippingLine: boolean;
}): Promise<ChunkRead> {
  const maxLine = getEnv().limits.lineBytes;
  const points: TaggedPoint[] = [];
  let skipped = 0;
  let badTimes = 0;
  let skipping = skippingLine;
  const now = Date.now();
  let pos = fromOffset; // file offset of pending[0]: a line start, or inside a line being skipped
  let pending = Buffer.alloc(0);
  let bytesRead = 0;
  const { handle } = await openDataFile({ path, root });
  try {
    while (pos + pending.length < toOffset) {
      const end = pos + pending.length;
      const chunk = Buffer.allocUnsafe(Math.min(CHUNK_BYTES, toOffset - end));
      const { bytesRead: n } = await handle.read(chunk, 0, chunk.length, end);
      if (n === 0) break;
      bytesRead += n;
      pending = pending.length ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
      let start = 0;
      if (skipping) {
        const nl = pending.indexOf(NEWLINE);
        skipping = nl === -1;
        start = skipping ? pending.length : nl + 1;
      }
      // Splitting bytes on \n is safe for UTF-8: the byte never occurs inside a multi-byte character.
      for (let nl = pending.indexOf(NEWLINE, start); !skipping && nl !== -1; nl = pending.indexOf(NEWLINE, start)) {
        const line = nl - start > maxLine ? null : pending.toString("utf8", start, nl).trim();
        start = nl + 1;
        if (line === "") continue;
        const row = line === null ? null : parseRow({ line, now });
        if (!row) skipped += 1;
        else {
          if (row.bad_time) badTimes += 1;
          for (const point of row.points) points.push(point);
        }
      }
      if (!skipping && pending.length - start > maxLine) {
        skipped += 1;
        skipping = true;
        start = pending.length;
      }
      pos += start;
      pending = pending.subarray(start);
    }
  } finally {
    await handle.close();
  }
  return { points, next_offset: pos, bytes_read: bytesRead, skipped, bad_times: badTimes, halted: null, skipping_line: skipping };
}

export function tailJsonlLog({ path, root }: { path: string; root: string }): Promise<FileTail> {
  return tailFile({ path, read: (range) => readJsonlLog({ path, root, ...range }) });
}

function parseRow({ line, now }: { line: string; now: number }): { points: TaggedPoint[]; bad_time: boolean } | null {
  const json = parseJson({ text: line, lenient: true });
  if (!json.ok) return null;
  const row = json.value;
  // A row with a key twice cannot say which value it logged.
  if (!row || typeof row !== "object" || Array.isArray(row) || duplicateKeys(json, row).length) return null;
  const fields = row as Record<string, unknown>;
  if (typeof fields.step !== "number" || !Number.isFinite(fields.step)) return null;
  const step = fields.step;
  const written = readTime({ fields });
  const wallTime = plausibleTime(written, now);
  const points: TaggedPoint[] = [];
  for (const [tag, value] of Object.entries(fields)) {
    if (tag === "step" || TIME_FIELDS.includes(tag)) continue;
    // NaN and Infinity stay: they mark where the run diverged.
    if (typeof value === "number") points.push({ tag, step, value, wall_time: wallTime });
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
