import "server-only";
import type fs from "node:fs/promises";
import { openDataFile } from "./file-cache";
import type { SampleCount } from "@/lib/schemas/sample-count";

export function sampleLines(count: SampleCount): number {
  return count.complete_lines + (count.partial_line ? 1 : 0);
}

const CHUNK_BYTES = 4 << 20;
const NEWLINE = 0x0a;

// Counts a file's samples, reading only what it must: nothing when (inode, size, mtime) match
// `previous`, the appended bytes when the same file only grew, else all of it. `bytes_read`
// says which.
export async function countSamples({
  path,
  root,
  previous,
}: {
  path: string;
  root: string;
  previous: SampleCount | null;
}): Promise<{ count: SampleCount; bytes_read: number }> {
  const { handle, stat } = await openDataFile({ path, root });
  try {
    const same = previous !== null && previous.ino === stat.ino;
    if (same && previous.size === stat.size && previous.mtime_ms === stat.mtimeMs) return { count: previous, bytes_read: 0 };
    const grew = same && stat.size > previous.size;
    const start = grew ? previous.tail_offset : 0;
    const counted = await countFrom({ handle, start, end: stat.size });
    const base = grew ? previous : { complete_lines: 0, checked_offset: 0, checked_lines: 0, malformed: 0, first_malformed_line: null };
    return {
      count: {
        ino: stat.ino,
        size: stat.size,
        mtime_ms: stat.mtimeMs,
        tail_offset: counted.tail_offset,
        complete_lines: base.complete_lines + counted.complete_lines,
        partial_line: counted.partial_line,
        checked_offset: base.checked_offset,
        checked_lines: base.checked_lines,
        malformed: base.malformed,
        first_malformed_line: base.first_malformed_line,
      },
      bytes_read: stat.size - start,
    };
  } finally {
    await handle.close();
  }
}

// Non-blank lines from `start` (a line start) to `end`, on large buffers: a line is blank only
// when the bytes before its newline are all whitespace, which the byte just before it settles
// almost always.
async function countFrom({ handle, start, end }: { handle: fs.FileHandle; start: number; end: number }) {
  const buffer = Buffer.allocUnsafe(CHUNK_BYTES);
  let completeLines = 0;
  let tailOffset = start;
  // Whether the line being read so far has a non-whitespace byte.
  let content = false;
  for (let pos = start; pos < end; ) {
    const { bytesRead } = await handle.read(buffer, 0, Math.min(CHUNK_BYTES, end - pos), pos);
    if (bytesRead === 0) break;
    const view = buffer.subarray(0, bytesRead);
    let lineStart = 0;
    for (let nl = view.indexOf(NEWLINE); nl !== -1; nl = view.indexOf(NEWLINE, lineStart)) {
      if (content || hasContent(view, lineStart, nl)) completeLines++;
      content = false;
      lineStart = nl + 1;
      tailOffset = pos + lineStart;
    }
    if (lineStart < bytesRead) content ||= hasContent(view, lineStart, bytesRead);
    pos += bytesRead;
  }
  return { complete_lines: completeLines, tail_offset: tailOffset, partial_line: content };
}

function hasContent(buffer: Buffer, from: number, to: number): boolean {
  for (let i = to - 1; i >= from; i--) {
    const byte = buffer[i];
    if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return true;
  }
  return false;
}
