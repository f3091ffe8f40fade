import "server-only";
import { Worker } from "node:worker_threads";

export type JsonlCheck = { checked_offset: number; checked_lines: number; malformed: number; first_malformed_line: number | null };

// Parsing every line as JSON costs far more than counting them, so it runs on a worker thread,
// off the request path. The worker's code is inline: a separate file would have to survive the
// server build's bundling.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const { path, ino, from, to, maxLine, lineNo, malformed: before, first: firstBefore } = workerData;
// Non-blocking, and the same file the count read: a FIFO swapped in must not hang the check.
const fd = fs.openSync(path, fs.constants.O_RDONLY | fs.constants.O_NONBLOCK);
const chunk = Buffer.allocUnsafe(4 << 20);
// The line read so far, unless it is longer than maxLine: then it is only measured.
let pending = [], pendingBytes = 0, tooLong = false;
let pos = from, lines = lineNo, malformed = before, first = firstBefore;
const bad = () => { malformed++; if (first === null) first = lines; };
const check = (line) => {
  lines++;
  if (line === null) return bad();
  let text = line.toString("utf8");
  if (lines === 1) text = text.replace(/^\\uFEFF/, "");
  if (!text.trim()) return;
  try { JSON.parse(text); } catch { bad(); }
};
try {
  const stat = fs.fstatSync(fd);
  if (!stat.isFile() || stat.ino !== ino) throw new Error("the file was replaced");
  while (pos < to) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, to - pos), pos);
    if (n === 0) break;
    pos += n;
    let start = 0;
    for (let nl = chunk.indexOf(10, 0); nl !== -1 && nl < n; nl = chunk.indexOf(10, start)) {
      const long = tooLong || pendingBytes + nl - start > maxLine;
      check(long ? null : Buffer.concat([...pending, chunk.subarray(start, nl)]));
      pending = []; pendingBytes = 0; tooLong = false; start = nl + 1;
    }
    if (start < n) {
      tooLong ||= pendingBytes + n - start > maxLine;
      if (tooLong) pending = [];
      else pending.push(Buffer.from(chunk.subarray(start, n)));
      pendingBytes += n - start;
    }
  }
} finally { fs.closeSync(fd); }
parentPort.postMessage({ checked_offset: pos - pendingBytes, checked_lines: lines, malformed, first_malformed_line: first });
`;

// Checks the complete lines in [from, to) of a JSONL file (`to` a line end), continuing counts
// from an earlier check that ended at `from` after `lineNo` lines. A line over `maxLine` bytes is
// malformed without being read into memory. `ino` is the file the lines were counted in.
export function validateJsonl({
  path,
  ino,
  from,
  to,
  maxLine,
  previous,
}: {
  path: string;
  ino: number;
  from: number;
  to: number;
  maxLine: number;
  previous: Pick<JsonlCheck, "checked_lines" | "malformed" | "first_malformed_line">;
}): Promise<JsonlCheck> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { path, ino, from, to, maxLine, lineNo: previous.checked_lines, malformed: previous.malformed, first: previous.first_malformed_line },
    });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`JSONL check stopped with code ${code}`)));
  });
}
