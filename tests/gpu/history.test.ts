import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { parseGpuCsv } from "@/lib/gpu/parse";
import { toSampleRow } from "@/lib/gpu/sample-writer";
import { getDb } from "@/lib/store/db";
import { insertGpuSamples, pruneGpuHistory, queryGpuHistory, type GpuHistoryPoint, type GpuSampleRow } from "@/lib/store/gpu-samples";

const stream = parseGpuCsv({ text: fs.readFileSync(path.join(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv"), "utf8") }).readings;
const lastAt = stream.at(-1)!.timestamp!;
const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
const HOUR = 3_600_000;

// The real 108 s capture, laid down so its last sample lands at `endAt`.
function captureRows({ gpu, endAt }: { gpu: number; endAt: number }): GpuSampleRow[] {
  return stream.map(({ timestamp, reading }) => ({ ...toSampleRow({ at: endAt - (lastAt - timestamp!), reading }), gpu_index: gpu }));
}

let dir: string;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-gpu-history-"));
  process.env.AFS_DATA_DIR = dir;
  process.env.AFS_DB = path.join(dir, "afs.db");
  delete process.env.AFS_RETENTION_RAW_HOURS;
  delete process.env.AFS_RETENTION_AGG_DAYS;
});
afterEach(() => {
  getDb().close();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("queryGpuHistory", () => {
  beforeEach(() => {
    insertGpuSamples({ samples: [...captureRows({ gpu: 0, endAt: NOW - 1000 }), ...captureRows({ gpu: 1, endAt: NOW - 31_000 })] });
  });

  it("keeps the 98 % peak and the idle floor when squeezing 215 samples into 20 points", () => {
    // 110 s: the whole capture, so each of the 10 buckets holds samples.
    const rows = queryGpuHistory({ rangeMs: 110_000, points: 20, now: NOW });
    const gpu0 = rows.filter((r) => r.gpu_index === 0);
    expect(gpu0.length).toBeGreaterThanOrEqual(15);
    expect(gpu0.length).toBeLessThanOrEqual(20);
    expect(Math.max(...gpu0.map((r) => r.utilization!))).toBe(98);
    expect(Math.min(...gpu0.map((r) => r.utilization!))).toBe(0);
    const peakTimes = captureRows({ gpu: 0, endAt: NOW - 1000 })
      .filter((r) => r.utilization === 98)
      .map((r) => new Date(r.at).toISOString());
    expect(peakTimes).toContain(gpu0.find((r) => r.utilization === 98)!.timestamp);
    expect(gpu0.map((r) => r.timestamp)).toEqual([...gpu0.map((r) => r.timestamp)].sort());
  });

  it("answers the response's units: GiB and ISO timestamps", () => {
    const rows = queryGpuHistory({ rangeMs: 5 * 60_000, gpu: 0, now: NOW });
    expect(rows.every((r) => r.memory_total_gb === 79.647)).toBe(true);
    expect(Math.max(...rows.map((r) => r.memory_used_gb!))).toBe(6.136);
    expect(rows.at(-1)).toEqual({
      timestamp: new Date(NOW - 1000).toISOString(),
      gpu_index: 0,
      utilization: 0,
      memory_used_gb: 0,
      memory_total_gb: 79.647,
      temperature_c: 42,
      power_w: 71.15,
    });
  });

  it("never returns more than `points` rows per GPU", () => {
    for (const points of [4, 7, 50, 500]) {
      const rows = queryGpuHistory({ rangeMs: 10 * 60_000, points, now: NOW });
      for (const gpu of [0, 1]) expect(rows.filter((r) => r.gpu_index === gpu).length).toBeLessThanOrEqual(points);
    }
  });

  it("returns every sample when the range holds fewer than the buckets", () => {
    const rows = queryGpuHistory({ rangeMs: 10_000, gpu: 0, points: 500, now: NOW });
    expect(rows.map((r) => r.timestamp)).toEqual(
      captureRows({ gpu: 0, endAt: NOW - 1000 })
        .filter((r) => r.at >= NOW - 10_000)
        .map((r) => new Date(r.at).toISOString()),
    );
  });

  it("filters by GPU and by range", () => {
    const gpu1 = queryGpuHistory({ rangeMs: 5 * 60_000, gpu: 1, now: NOW });
    expect(gpu1.length).toBeGreaterThan(0);
    expect(gpu1.every((r) => r.gpu_index === 1)).toBe(true);
    expect(gpu1.at(-1)!.timestamp).toBe(new Date(NOW - 31_000).toISOString());

    // GPU 1's capture ended 31 s ago, so a 30 s window holds only GPU 0.
    const recent = queryGpuHistory({ rangeMs: 30_000, now: NOW });
    expect(new Set(recent.map((r) => r.gpu_index))).toEqual(new Set([0]));
    expect(recent.every((r) => Date.parse(r.timestamp) >= NOW - 30_000)).toBe(true);
    expect(queryGpuHistory({ rangeMs: 30_000, gpu: 7, now: NOW })).toEqual([]);
  });
});

describe("1-minute rollups and pruneGpuHistory", () => {
  const old = () => captureRows({ gpu: 0, endAt: NOW - 49 * HOUR });
  const rollups = () => getDb().prepare("SELECT * FROM gpu_samples_1m ORDER BY gpu_index, minute").all() as Array<Record<string, number>>;

  it("keeps per-minute mean and max as samples arrive, and prune drops raw rows past 48 h", () => {
    insertGpuSamples({ samples: old().slice(0, 100) });
    insertGpuSamples({ samples: old().slice(100) });

    const byMinute = new Map<number, GpuSampleRow[]>();
    for (const r of old()) {
      const minute = Math.floor(r.at / 60_000) * 60_000;
      byMinute.set(minute, [...(byMinute.get(minute) ?? []), r]);
    }
    const minutes = rollups();
    expect(minutes.map((m) => m.minute)).toEqual([...byMinute.keys()]);
    for (const m of minutes) {
      const rows = byMinute.get(m.minute)!;
      const mean = (values: number[]) => values.reduce((a, b) => a + b, 0) / values.length;
      expect(m.samples).toBe(rows.length);
      expect(m.utilization_max).toBe(Math.max(...rows.map((r) => r.utilization!)));
      expect(m.utilization_mean).toBeCloseTo(mean(rows.map((r) => r.utilization!)), 9);
      expect(m.memory_used_max_mb).toBe(Math.max(...rows.map((r) => r.memory_used_mb!)));
      expect(m.power_mean_w).toBeCloseTo(mean(rows.map((r) => r.power_w!)), 9);
      expect(m.power_max_w).toBe(Math.max(...rows.map((r) => r.power_w!)));
      expect(m.memory_total_mb).toBe(81559);
    }
    expect(Math.max(...minutes.map((m) => m.utilization_max))).toBe(98);

    insertGpuSamples({ samples: captureRows({ gpu: 0, endAt: NOW - 1000 }) });
    expect(pruneGpuHistory({ now: NOW })).toEqual({ deletedSamples: 215, deletedMinutes: 0 });
    const raw = getDb().prepare("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM gpu_samples").get() as { n: number; oldest: number };
    expect(raw).toEqual({ n: 215, oldest: captureRows({ gpu: 0, endAt: NOW - 1000 })[0].at });
    expect(rollups().slice(0, minutes.length)).toEqual(minutes);
  });

  it("answers a long range from the rollups, and a fine one older than the raw samples from both", () => {
    insertGpuSamples({ samples: [...old(), ...captureRows({ gpu: 0, endAt: NOW - 1000 })] });
    pruneGpuHistory({ now: NOW });
    const cutoff = NOW - 48 * HOUR;

    // 500 points over 50 h: 12-minute buckets, all from the 10-minute periods.
    const coarse = queryGpuHistory({ rangeMs: 50 * HOUR, gpu: 0, points: 500, now: NOW });
    expect(coarse.length).toBeLessThanOrEqual(500);
    expect(coarse.every((r) => Date.parse(r.timestamp) % 60_000 === 0)).toBe(true);
    expect(coarse.filter((r) => Date.parse(r.timestamp) < cutoff).map((r) => r.utilization)).toContain(98);
    expect(coarse.filter((r) => Date.parse(r.timestamp) >= cutoff).map((r) => r.utilization)).toContain(98);

    // 10000 points over 50 h: 36 s buckets, raw where raw samples exist, rollups before.
    const fine = queryGpuHistory({ rangeMs: 50 * HOUR, gpu: 0, points: 10_000, now: NOW });
    expect(fine.length).toBeLessThanOrEqual(10_000);
    const older = fine.filter((r) => Date.parse(r.timestamp) < cutoff);
    const recent = fine.filter((r) => Date.parse(r.timestamp) >= cutoff);
    expect(older.every((r) => Date.parse(r.timestamp) % 60_000 === 0)).toBe(true);
    expect(Math.max(...older.map((r) => r.utilization!))).toBe(98);
    const rawTimes = new Set(captureRows({ gpu: 0, endAt: NOW - 1000 }).map((r) => new Date(r.at).toISOString()));
    expect(recent.every((r) => rawTimes.has(r.timestamp))).toBe(true);
    expect(Math.max(...recent.map((r) => r.utilization!))).toBe(98);
    expect(Math.min(...recent.map((r) => r.utilization!))).toBe(0);
  });

  it("merges a late sample into its minute's rollup and ignores a duplicate", () => {
    insertGpuSamples({ samples: old() });
    const first = rollups()[0];
    const late = { at: first.minute + 1, gpu_index: 0, utilization: 100, memory_used_mb: 7000, memory_total_mb: 81559, temperature_c: 50, power_w: 600 };
    insertGpuSamples({ samples: [late] });
    insertGpuSamples({ samples: [late, old()[0]] });
    const merged = rollups()[0];
    expect(merged.samples).toBe(first.samples + 1);
    expect(merged.utilization_max).toBe(100);
    expect(merged.utilization_mean).toBeCloseTo((first.utilization_mean * first.samples + 100) / (first.samples + 1), 9);
  });

  it("drops rollups older than the aggregate retention, honouring the env settings", () => {
    process.env.AFS_RETENTION_RAW_HOURS = "1";
    process.env.AFS_RETENTION_AGG_DAYS = "2";
    insertGpuSamples({ samples: [...captureRows({ gpu: 0, endAt: NOW - 3 * 24 * HOUR }), ...captureRows({ gpu: 1, endAt: NOW - 2 * HOUR })] });
    const before = rollups().filter((m) => m.gpu_index === 0).length;
    expect(pruneGpuHistory({ now: NOW })).toEqual({ deletedSamples: 430, deletedMinutes: before });
    expect(new Set(rollups().map((m) => m.gpu_index))).toEqual(new Set([1]));
    for (const table of ["gpu_samples_10m", "gpu_samples_1h"]) {
      const gpus = getDb().prepare(`SELECT DISTINCT gpu_index FROM ${table}`).all() as Array<{ gpu_index: number }>;
      expect(gpus).toEqual([{ gpu_index: 1 }]);
    }
  });

  it("refuses fewer than 4 points", () => {
    expect(() => queryGpuHistory({ rangeMs: 60_000, points: 3, now: NOW })).toThrow(RangeError);
  });
});

describe("10-minute and 1-hour periods", () => {
  const DAY = 24 * HOUR;
  // The capture every 67 min 7 s for a week on GPU 0, and 20 min later on GPU 1, so captures fall
  // differently on minute, period and bucket boundaries.
  const ends = Array.from({ length: Math.floor((7 * DAY) / 4_027_000) }, (_, i) => NOW - 1000 - i * 4_027_000);
  const week = () => ends.flatMap((endAt) => [...captureRows({ gpu: 0, endAt }), ...captureRows({ gpu: 1, endAt: endAt - 20 * 60_000 })]);
  type Minute = { minute: number; gpu_index: number } & Record<string, number>;
  const minutes = () => getDb().prepare("SELECT * FROM gpu_samples_1m").all() as Minute[];
  const periods = (table: string) => getDb().prepare(`SELECT * FROM ${table} ORDER BY period, gpu_index, high`).all() as Array<Record<string, number>>;
  // A point as a minute's maxima (the high pick) or its means (the low pick) would show it.
  const asPoint = (m: Minute, stat: "max" | "mean") => ({
    timestamp: new Date(m.minute).toISOString(),
    gpu_index: m.gpu_index,
    utilization: m[`utilization_${stat}`],
    temperature_c: m[`temperature_${stat}_c`],
    power_w: m[`power_${stat}_w`],
  });
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  const shown = ({ timestamp, gpu_index, utilization, temperature_c, power_w }: GpuHistoryPoint) => ({ timestamp, gpu_index, utilization, temperature_c, power_w });

  // Period by period, what the 1-minute rollups say: the highest maximum, with the values of a
  // minute that has it, and the lowest mean likewise (one point where one minute has both).
  function expectPicksOfMinutes({ rows, from, to, periodMs }: { rows: GpuHistoryPoint[]; from: number; to: number; periodMs: number }) {
    const all = minutes();
    for (let start = from; start <= to; start += periodMs) {
      for (const gpu of [0, 1]) {
        const inPeriod = all.filter((m) => m.gpu_index === gpu && m.minute >= start && m.minute < start + periodMs);
        const answer = rows.filter((r) => r.gpu_index === gpu && Date.parse(r.timestamp) >= start && Date.parse(r.timestamp) < start + periodMs).map(shown);
        if (inPeriod.length === 0) {
          expect(answer).toEqual([]);
          continue;
        }
        const highest = inPeriod.filter((m) => m.utilization_max === Math.max(...inPeriod.map((n) => n.utilization_max))).map((m) => asPoint(m, "max"));
        const lowest = inPeriod.filter((m) => m.utilization_mean === Math.min(...inPeriod.map((n) => n.utilization_mean))).map((m) => asPoint(m, "mean"));
        expect(answer.length).toBeGreaterThanOrEqual(1);
        expect(answer.length).toBeLessThanOrEqual(2);
        expect(answer.every((p) => highest.some((h) => same(h, p)) || lowest.some((l) => same(l, p)))).toBe(true);
        expect(answer.some((p) => highest.some((h) => same(h, p)))).toBe(true);
        const lowShown = answer.some((p) => lowest.some((l) => same(l, p)));
        expect(lowShown || lowest.some((l) => l.timestamp === answer[0].timestamp)).toBe(true);
      }
    }
  }

  beforeEach(() => {
    insertGpuSamples({ samples: week() });
  });

  it("answers 7 days in 500 points from the 10-minute periods, keeping every capture's 98 % peak", () => {
    const rows = queryGpuHistory({ rangeMs: 7 * DAY, points: 500, now: NOW });
    const all = minutes();
    for (const gpu of [0, 1]) {
      const points = rows.filter((r) => r.gpu_index === gpu);
      expect(points.length).toBeLessThanOrEqual(500);
      // Every point is one minute's maxima or its means.
      for (const p of points.map(shown)) {
        const m = all.find((n) => n.gpu_index === gpu && n.minute === Date.parse(p.timestamp))!;
        expect([asPoint(m, "max"), asPoint(m, "mean")]).toContainEqual(p);
      }
      for (const endAt of ends) {
        const capture = captureRows({ gpu, endAt: gpu === 0 ? endAt : endAt - 20 * 60_000 });
        if (capture[0].at < NOW - 7 * DAY) continue;
        const peak = points.find((p) => Date.parse(p.timestamp) >= Math.floor(capture[0].at / 60_000) * 60_000 && Date.parse(p.timestamp) <= capture.at(-1)!.at && p.utilization === 98);
        expect(peak).toBeDefined();
      }
    }
  });

  it("answers what the minutes say when each bucket is one 10-minute period", () => {
    // 250 buckets of exactly 10 minutes, the first starting on a period boundary.
    const from = NOW - 3 * DAY;
    const rangeMs = 250 * 10 * 60_000 - 1;
    const rows = queryGpuHistory({ rangeMs, points: 500, now: from + rangeMs });
    expectPicksOfMinutes({ rows, from, to: from + rangeMs, periodMs: 10 * 60_000 });
  });

  it("answers what the minutes say when each bucket is one hour", () => {
    const from = NOW - 3 * DAY;
    const rangeMs = 24 * HOUR - 1;
    const rows = queryGpuHistory({ rangeMs, points: 48, now: from + rangeMs });
    expectPicksOfMinutes({ rows, from, to: from + rangeMs, periodMs: HOUR });
  });

  it("fills the periods of a store migrated from the 1-minute rollups alone, as samples arriving would", () => {
    const kept = { tenMinutes: periods("gpu_samples_10m"), hours: periods("gpu_samples_1h") };
    expect(kept.hours.length).toBeGreaterThan(0);
    // Back to the version before the periods' migration, under another name so getDb opens it afresh.
    getDb().close();
    const older = path.join(dir, "older.db");
    fs.renameSync(process.env.AFS_DB!, older);
    const db = new Database(older);
    db.exec("DROP TABLE gpu_samples_10m; DROP TABLE gpu_samples_1h; PRAGMA user_version = 4");
    db.close();
    process.env.AFS_DB = older;
    const migrated = { tenMinutes: periods("gpu_samples_10m"), hours: periods("gpu_samples_1h") };
    // Where minutes tie, either may be picked: the picked value and the minute's own values must agree.
    const picked = (rows: Array<Record<string, number>>) => rows.map(({ period, gpu_index, high, utilization }) => ({ period, gpu_index, high, utilization }));
    expect(picked(migrated.tenMinutes)).toEqual(picked(kept.tenMinutes));
    expect(picked(migrated.hours)).toEqual(picked(kept.hours));
    const all = minutes();
    for (const row of [...migrated.tenMinutes, ...migrated.hours]) {
      const m = all.find((n) => n.gpu_index === row.gpu_index && n.minute === row.at)!;
      const stat = row.high ? "max" : "mean";
      expect(asPoint(m, stat)).toEqual({ timestamp: new Date(row.at).toISOString(), gpu_index: row.gpu_index, utilization: row.utilization, temperature_c: row.temperature_c, power_w: row.power_w });
    }
  });
});
