import fs from "node:fs";
import { describe, expect, it } from "vitest";
import { parseRange } from "@/lib/data/artifacts";
import { countSamples } from "@/lib/data/samples";
import { finishAtPace, hoursRunning, runningStretch } from "@/lib/history";
import { makeDataDir, writeFile } from "../helpers";

describe("countSamples", () => {
  it("counts non-empty lines across chunk boundaries, with BOM, CRLF and no final newline", async () => {
    const dir = makeDataDir();
    // 3 MiB of lines crosses the 1 MiB read chunks many times.
    const line = JSON.stringify({ text: "y".repeat(1000) });
    const body = "\uFEFF" + Array.from({ length: 3000 }, () => line).join("\r\n") + "\r\n\r\n  \n" + line;
    const file = writeFile(dir, "m.jsonl", body);
    expect(await countSamples({ path: file })).toEqual({
      lines: 3001, sizeBytes: Buffer.byteLength(body), malformed: 0, firstMalformedLine: null,
    });
  });

  it("counts malformed lines and re-reads only when size or mtime change", async () => {
    const dir = makeDataDir();
    const file = writeFile(dir, "m.jsonl", '{"a":1}\n{oops\n{"b":2}\n');
    expect(await countSamples({ path: file })).toMatchObject({ lines: 3, malformed: 1, firstMalformedLine: 2 });
    const cached = await countSamples({ path: file });
    expect(await countSamples({ path: file })).toBe(cached);
    fs.appendFileSync(file, '{"c":3}\n');
    expect(await countSamples({ path: file })).toMatchObject({ lines: 4, malformed: 1 });
  });
});

describe("parseRange", () => {
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
    expect(parseRange(header, 100)).toEqual(expected);
  });
});

describe("status history", () => {
  const h = (status: "running" | "paused" | "completed", progress: number, at: string) => ({ status, progress, source: "api", at });

  it("sums running time and keeps the open stretch accruing", () => {
    const history = [h("running", 0, "2026-01-01T00:00:00Z"), h("paused", 10, "2026-01-01T01:30:00Z"), h("running", 10, "2026-01-01T02:00:00Z")];
    expect(hoursRunning(history, Date.parse("2026-01-01T03:00:00Z"))).toBe(2.5);
  });

  it("finds the current running stretch and trusts a pace only over 60 s and 1 point", () => {
    const history = [h("running", 0, "2026-01-01T00:00:00Z"), h("paused", 10, "2026-01-01T01:00:00Z"), h("running", 20, "2026-01-02T00:00:00Z"), h("running", 50, "2026-01-02T01:00:00Z")];
    const stretch = runningStretch(history)!;
    expect(stretch).toEqual({ first: { at: Date.parse("2026-01-02T00:00:00Z"), progress: 20 }, last: { at: Date.parse("2026-01-02T01:00:00Z"), progress: 50 } });
    // 30 points an hour, 50 left: 100 minutes on.
    expect(finishAtPace(stretch.first, stretch.last)).toBe(Date.parse("2026-01-02T02:40:00Z"));
    expect(runningStretch([h("paused", 50, "2026-01-02T00:00:00Z")])).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 200, progress: 70.5 })).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 59_999, progress: 90 })).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 60_000, progress: 70.9 })).toBeNull();
    expect(finishAtPace({ at: 0, progress: 70 }, { at: 60_000, progress: 71 })).toBe(60_000 + 29 * 60_000);
  });
});
