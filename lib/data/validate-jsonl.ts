import "server-only";
import { Worker } from "node:worker_threads";

export type JsonlCheck = { checked_offset: number; checked_lines: number; malformed: number; first_malformed_line: number | null };

// Parsing every line as JSON costs far more than counting them, so it runs on a worker thread,
// off the request path. The worker's code is inline: a separate file would have to survive the
// server build's bundling.
const WORKER = `
const { parentPort, workerData } = require("node:worker_threads");
const fs = require("node:fs");
const { path, from, to, lineNo, malformed: before, first: firstBefore } = workerData;
const fd = fs.openSync(path, "r");
const chunk = Buffer.allocUnsafe(4 << 20);
let pending = Buffer.alloc(0), pos = from, lines = lineNo, malformed = before, first = firstBefore;
const check = (line) => {
  lines++;
  let text = line.toString("utf8");
  if (lines === 1) text = text.replace(/^\\uFEFF/, "");
  if (!text.trim()) return;
  try { JSON.parse(text); } catch { malformed++; if (first === null) first = lines; }
};
try {
  while (pos < to) {
    const n = fs.readSync(fd, chunk, 0, Math.min(chunk.length, to - pos), pos);
    if (n === 0) break;
    pos += n;
    const data = pending.length ? Buffer.concat([pending, chunk.subarray(0, n)]) : chunk.subarray(0, n);
    let start = 0;
    for (let nl = data.indexOf(10); nl !== -1; nl = data.indexOf(10, start)) { check(data.subarray(start, nl)); start = nl + 1; }
    pending = Buffer.from(data.subarray(start));
  }
} finally { fs.closeSync(fd); }
parentPort.postMessage({ checked_offset: pos - pending.length, checked_lines: lines, malformed, first_malformed_line: first });
`;

// Checks the complete lines in [from, to) of a JSONL file (`to` a line end), continuing counts
// from an earlier check that ended at `from` after `lineNo` lines.
export function validateJsonl({
  path,
  from,
  to,
  previous,
}: {
  path: string;
  from: number;
  to: number;
  previous: Pick<JsonlCheck, "checked_lines" | "malformed" | "first_malformed_line">;
}): Promise<JsonlCheck> {
  return new Promise((resolve, reject) => {
    const worker = new Worker(WORKER, {
      eval: true,
      workerData: { path, from, to, lineNo: previous.checked_lines, malformed: previous.malformed, first: previous.first_malformed_line },
    });
    worker.once("message", resolve);
    worker.once("error", reject);
    worker.once("exit", (code) => code !== 0 && reject(new Error(`JSONL check stopped with code ${code}`)));
  });
}
