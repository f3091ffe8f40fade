import path from "node:path";
import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parseByteRange } from "@/lib/data/artifacts";
import { countSamples, sampleLines } from "@/lib/data/samples";
import { validateJsonl } from "@/lib/data/validate-jsonl";
import { appendHistory, EMPTY_HISTORY, finishAtPace, hoursRunning } from "@/lib/history";
import { makeDataDir, writeFile } from "../helpers";

describe("countSamples", () => {
  it("counts non-empty lines across chunk boundaries, with BOM, CRLF and no final newline", async () => {
    const dir = makeDataDir();
    // 12 MiB of lines crosses the 4 MiB read chunks.
    const line = JSON.stringify({ text: "y".repeat(4000) });
    const body = "\uFEFF" + Array.from({ length: 3000 }, () => line).join("\r\n") + "\r\n\r\n  \n" + line;
    const file = writeFile(dir, "m.jsonl", body);
    const { count, bytes_read } = await countSamples({ path: file, root: path.dirname(file), previous: null });
    expect(sampleLines(count)).toBe(3001);
    expect(count).toMatchObject({ size: Buffer.byteLength(body), complete_lines: 3000, partial_line: true, tail_offset: Buffer.byteLength(body) - line.length });
    expect(bytes_read).toBe(Buffer.byteLength(body));
  });

  it("reads nothing of an unchanged file, only what was appended to a grown one, all of a replaced one", async () => {
    const dir = makeDataDir();
    const file = writeFile(dir, "m.jsonl", '{"a":1}\n{"b":2');
    const first = await countSamples({ path: file, root: path.dirname(file), previous: null });
    expect(sampleLines(first.count)).toBe(2);
    expect(await countSamples({ path: file, root: path.dirname(file), previous: first.count })).toEqual({ count: first.count, bytes_read: 0 });
    fs.appendFileSync(file, '}\n\n{"c":3}\n');
    const grown = await countSamples({ path: file, root: path.dirname(file), previous: first.count });
    expect(sampleLines(grown.count)).toBe(3);
    expect(grown.bytes_read).toBe(fs.statSync(file).size - 8); // from the end of the first complete line
    fs.writeFileSync(`${file}.new`, '{"x":1}\n');
    fs.renameSync(`${file}.new`, file);
    const replaced = await countSamples({ path: file, root: path.dirname(file), previous: grown.count });
    expect(sampleLines(replaced.count)).toBe(1);
    expect(replaced.bytes_read).toBe(8);
  });
});

describe("validateJsonl", () => {
  it("finds malformed lines on a worker thread, and continues from where the last check ended", async () => {
    const dir = makeDataDir();
    const file = writeFile(dir, "m.jsonl", '{"a":1}\n{oops\n\n{"b":2}\n');
    const size = fs.statSync(file).size;
    const none = { checked_lines: 0, malformed: 0, first_malformed_line: null };
    const { ino } = fs.statSync(file);
    const first = await validateJsonl({ path: file, ino, from: 0, to: size, maxLine: 100, previous: none });
    expect(first).toEqual({ checked_offset: size, checked_lines: 4, malformed: 1, first_malformed_line: 2 });
    fs.appendFileSync(file, "nope\n");
    const next = await validateJsonl({ path: file, ino, from: size, to: fs.statSync(file).size, maxLine: 100, previous: first });
    expect(next).toEqual({ checked_offset: size + 5, checked_lines: 5, malformed: 2, first_malformed_line: 2 });
  });

  it("counts a line over maxLine as malformed, across chunk ends, without parsing it", async () => {
    const dir = makeDataDir();
    // Valid JSON, but longer than the limit; the lines around it stay checked as usual.
    const long = JSON.stringify({ text: "x".repeat(6 << 20) });
    const file = writeFile(dir, "m.jsonl", `{"a":1}\n${long}\n{"b":2}\n{bad\n`);
    const { size, ino } = fs.statSync(file);
    const none = { checked_lines: 0, malformed: 0, first_malformed_line: null };
    expect(await validateJsonl({ path: file, ino, from: 0, to: size, maxLine: 5 << 20, previous: none })).toEqual({
      checked_offset: size,
      checked_lines: 4,
      malformed: 2,
      first_malformed_line: 2,
    });
    expect((await validateJsonl({ path: file, ino, from: 0, to: size, maxLine: 7 << 20, previous: none })).malformed).toBe(1);
  });
});

describe("parseByteRange", () => {
  it.each([
    ["bytes=0-9", { start: 0, end: 9 }],
    ["bytes=5-", { start: 5, end: 99 }],
    ["bytes=-10", { start: 90, end: 99 }],
    ["bytes=90-500", { start: 90, end: 99 }],
    ["bytes=100-", "unsatisfiable"],
    ["bytes=-0", "unsatisfiable"],
    ["bytes=9-2", null],
    ["bytes=0-1,5-6", null],
    ["items=0-1", null],
    [null, null],
  ] as const)("%s", (header, expected) => {
    expect(parseByteRange(header, 100)).toEqual(expected);
  });
});

describe("status history", () => {
  const h = (status: "running" | "paused" | "completed", progress: number, at: string) => ({ status, progress, source: "api", at });
  const fold = (entries: ReturnType<typeof h>[]) => entries.reduce(appendHistory, EMPTY_HISTORY);

  it("sums running time and keeps the open stretch accruing", () => {
    const history = fold([h("running", 0, "2026-01-01T00:00:00Z"), h("paused", 10, "2026-01-01T01:30:00Z"), h("running", 10, "2026-01-01T02:00:00Z")]);
    expect(hoursRunning(history, Date.parse("2026-01-01T03:00:00Z"))).toBe(2.5);
    expect(history).toMatchObject({ first_at: "2026-01-01T00:00:00Z", latest_posted_at: "2026-01-01T02:00:00Z", running_ms: 1.5 * 3_600_000 });
  });

  it("finds the current running stretch and trusts a pace only over 60 s and 1 point", () => {
    const history = fold([h("running", 0, "2026-01-01T00:00:00Z"), h("paused", 10, "2026-01-01T01:00:00Z"), h("running", 20, "2026-01-02T00:00:00Z"), h("running", 50, "2026-01-02T01:00:00Z")]);
    const stretch = history.stretch!;
    expect(stretch).toEqual({ first: { at: Date.parse("2026-01-02T00:00:00Z"), progress: 20 }, last: { at: Date.parse("2026-01-02T01:00:00Z"), progress: 50 } });
    // 30 points an hour, 50 left: 100 minutes on.
    expect(finishAtPace(stretch.first, stretch.last)).toBe(Date.parse("2026-01-02T02:40:00Z"));
    expect(fold([h("paused", 50, "2026-01-02T00:00:00Z")]).stretch).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 200, progress: 70.5 })).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 59_999, progress: 90 })).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 60_000, progress: 70.9 })).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 60_000, progress: 71 })).toBe(60_000 + 29 * 60_000);
  });
});
