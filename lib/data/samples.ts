import "server-only";
import fs from "node:fs";
import { readCached } from "./file-cache";

export type SampleCount = { lines: number; sizeBytes: number; malformed: number; firstMalformedLine: number | null };

const NEWLINE = 0x0a;

function isBlank(buf: Buffer): boolean {
  for (const byte of buf) if (byte !== 0x20 && byte !== 0x09 && byte !== 0x0d) return false;
  return true;
}

// Streams the file in chunks, so a multi-GB JSONL never sits in memory; only one line at a time
// is held, to check that it parses.
async function scanJsonl(filePath: string): Promise<Omit<SampleCount, "sizeBytes">> {
  let lines = 0;
  let malformed = 0;
  let firstMalformedLine: number | null = null;
  let lineNo = 0;
  let pending: Buffer[] = [];

  const finishLine = (line: Buffer) => {
    lineNo++;
    if (isBlank(line)) return;
    lines++;
    let text = line.toString("utf8");
    if (lineNo === 1) text = text.replace(/^\uFEFF/, "");
    try {
      JSON.parse(text);
    } catch {
      malformed++;
      firstMalformedLine ??= lineNo;
    }
  };

  for await (const chunk of fs.createReadStream(filePath, { highWaterMark: 1 << 20 }) as AsyncIterable<Buffer>) {
    let start = 0;
    for (let nl = chunk.indexOf(NEWLINE); nl !== -1; nl = chunk.indexOf(NEWLINE, start)) {
      const piece = chunk.subarray(start, nl);
      finishLine(pending.length ? Buffer.concat([...pending, piece]) : piece);
      pending = [];
      start = nl + 1;
    }
    if (start < chunk.length) pending.push(chunk.subarray(start));
  }
  if (pending.length) finishLine(Buffer.concat(pending));
  return { lines, malformed, firstMalformedLine };
}

// Training samples = non-empty lines. Cached by (path, size, mtime).
export async function countSamples({ path }: { path: string }): Promise<SampleCount> {
  return readCached({ path, loader: "samples" }, async (stat) => ({ ...(await scanJsonl(path)), sizeBytes: stat.size }));
}
