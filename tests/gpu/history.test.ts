import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { closeCurrentStore } from "@/lib/store/db";
import { insertGpuSamples, pruneGpuHistory, queryGpuHistory, type GpuHistoryPoint, type GpuSampleRow } from "@/lib/store/gpu-samples";
import { makeDataDir } from "../helpers";
import { storeRows } from "../support/store";
import { asPoint, captureRows, DAY, HOUR, NOW, weekEnds, weekRows, type Minute } from "./capture";

beforeEach(() => {
  makeDataDir();
  delete process.env.AFS_RETENTION_RAW_HOURS;
  delete process.env.AFS_RETENTION_AGG_DAYS;
});
afterEach(closeCurrentStore);

describe("queryGpuHistory", () => {
  beforeEach(async () => {
    await insertGpuSamples({ samples: [...captureRows({ gpu: 0, endAt: NOW - 1000 }), ...captureRows({ gpu: 1, endAt: NOW - 31_000 })] });
  });

  it("keeps the 98 % peak and the idle floor when squeezing 215 samples into 20 points", async () => {
    // 110 s: the whole capture, so each of the 10 buckets holds samples.
    const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 110_000, points: 20, now: NOW });
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

  it("answers the response's units: GiB and ISO timestamps", async () => {
    const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 5 * 60_000, gpu: 0, now: NOW });
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

  it("never returns more than `points` rows per GPU", async () => {
    for (const points of [4, 7, 50, 500]) {
      const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 10 * 60_000, points, now: NOW });
      for (const gpu of [0, 1]) expect(rows.filter((r) => r.gpu_index === gpu).length).toBeLessThanOrEqual(points);
    }
  });

  it("returns every sample when the range holds fewer than the buckets", async () => {
    const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 10_000, gpu: 0, points: 500, now: NOW });
    expect(rows.map((r) => r.timestamp)).toEqual(
      captureRows({ gpu: 0, endAt: NOW - 1000 })
        .filter((r) => r.at >= NOW - 10_000)
        .map((r) => new Date(r.at).toISOString()),
    );
  });

  it("filters by GPU and by range", async () => {
    const gpu1 = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 5 * 60_000, gpu: 1, now: NOW });
    expect(gpu1.length).toBeGreaterThan(0);
    expect(gpu1.every((r) => r.gpu_index === 1)).toBe(true);
    expect(gpu1.at(-1)!.timestamp).toBe(new Date(NOW - 31_000).toISOString());

    // GPU 1's capture ended 31 s ago, so a 30 s window holds only GPU 0.
    const recent = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 30_000, now: NOW });
    expect(new Set(recent.map((r) => r.gpu_index))).toEqual(new Set([0]));
    expect(recent.every((r) => Date.parse(r.timestamp) >= NOW - 30_000)).toBe(true);
    expect(await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 30_000, gpu: 7, now: NOW })).toEqual([]);
  });
});

describe("1-minute rollups and pruneGpuHistory", () => {
  const old = () => captureRows({ gpu: 0, endAt: NOW - 49 * HOUR });
  const rollups = () => storeRows<Record<string, number>>("SELECT * FROM gpu_samples_1m ORDER BY gpu_index, minute");

  it("keeps per-minute mean and max as samples arrive, and prune drops raw rows past 48 h", async () => {
    await insertGpuSamples({ samples: old().slice(0, 100) });
    await insertGpuSamples({ samples: old().slice(100) });

    const byMinute = new Map<number, GpuSampleRow[]>();
    for (const r of old()) {
      const minute = Math.floor(r.at / 60_000) * 60_000;
      byMinute.set(minute, [...(byMinute.get(minute) ?? []), r]);
    }
    const minutes = await rollups();
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

    await insertGpuSamples({ samples: captureRows({ gpu: 0, endAt: NOW - 1000 }) });
    expect(await pruneGpuHistory({ now: NOW })).toEqual({ deletedSamples: 215, deletedMinutes: 0 });
    const [raw] = await storeRows("SELECT COUNT(*) AS n, MIN(at) AS oldest FROM gpu_samples");
    expect(raw).toEqual({ n: 215, oldest: captureRows({ gpu: 0, endAt: NOW - 1000 })[0].at });
    expect((await rollups()).slice(0, minutes.length)).toEqual(minutes);
  });

  it("answers a long range from the rollups, and a fine one older than the raw samples from both", async () => {
    await insertGpuSamples({ samples: [...old(), ...captureRows({ gpu: 0, endAt: NOW - 1000 })] });
    await pruneGpuHistory({ now: NOW });
    const cutoff = NOW - 48 * HOUR;

    // 500 points over 50 h: 12-minute buckets, all from the 10-minute periods.
    const coarse = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 50 * HOUR, gpu: 0, points: 500, now: NOW });
    expect(coarse.length).toBeLessThanOrEqual(500);
    expect(coarse.every((r) => Date.parse(r.timestamp) % 60_000 === 0)).toBe(true);
    expect(coarse.filter((r) => Date.parse(r.timestamp) < cutoff).map((r) => r.utilization)).toContain(98);
    expect(coarse.filter((r) => Date.parse(r.timestamp) >= cutoff).map((r) => r.utilization)).toContain(98);

    // 10000 points over 50 h: 36 s buckets, raw where raw samples exist, rollups before.
    const fine = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 50 * HOUR, gpu: 0, points: 10_000, now: NOW });
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

  it("merges a late sample into its minute's rollup and ignores a duplicate", async () => {
    await insertGpuSamples({ samples: old() });
    const first = (await rollups())[0];
    const late = { host: LOCAL_HOST, at: first.minute + 1, gpu_index: 0, utilization: 100, memory_used_mb: 7000, memory_total_mb: 81559, temperature_c: 50, power_w: 600 };
    await insertGpuSamples({ samples: [late] });
    await insertGpuSamples({ samples: [late, old()[0]] });
    const merged = (await rollups())[0];
    expect(merged.samples).toBe(first.samples + 1);
    expect(merged.utilization_max).toBe(100);
    expect(merged.utilization_mean).toBeCloseTo((first.utilization_mean * first.samples + 100) / (first.samples + 1), 9);
  });

  it("drops rollups older than the aggregate retention, honouring the env settings", async () => {
    process.env.AFS_RETENTION_RAW_HOURS = "1";
    process.env.AFS_RETENTION_AGG_DAYS = "2";
    await insertGpuSamples({ samples: [...captureRows({ gpu: 0, endAt: NOW - 3 * 24 * HOUR }), ...captureRows({ gpu: 1, endAt: NOW - 2 * HOUR })] });
    const before = (await rollups()).filter((m) => m.gpu_index === 0).length;
    expect(await pruneGpuHistory({ now: NOW })).toEqual({ deletedSamples: 430, deletedMinutes: before });
    expect(new Set((await rollups()).map((m) => m.gpu_index))).toEqual(new Set([1]));
    for (const table of ["gpu_samples_10m", "gpu_samples_1h"]) {
      const gpus = await storeRows(`SELECT DISTINCT gpu_index FROM ${table}`);
      expect(gpus).toEqual([{ gpu_index: 1 }]);
    }
  });

  it("refuses fewer than 4 points", async () => {
    await expect(queryGpuHistory({ host: LOCAL_HOST, rangeMs: 60_000, points: 3, now: NOW })).rejects.toThrow(RangeError);
  });
});

describe("hosts", () => {
  const REMOTE = "gpu-box-1";
  // The same capture, GPU and milliseconds on another host, which ran at a steady 7 %.
  const remoteRows = (rows: GpuSampleRow[]) => rows.map((r) => ({ ...r, host: REMOTE, utilization: 7 }));
  const byHost = (table: string) => storeRows(`SELECT host, COUNT(*) AS n FROM ${table} GROUP BY host ORDER BY host`);

  it("keeps two hosts' samples of the same GPU at the same milliseconds apart, from raw samples to hours", async () => {
    const local = weekRows();
    await insertGpuSamples({ samples: [...local, ...remoteRows(local)] });
    expect(await byHost("gpu_samples")).toEqual([{ host: REMOTE, n: local.length }, { host: LOCAL_HOST, n: local.length }]);
    for (const table of ["gpu_samples_1m", "gpu_samples_10m", "gpu_samples_1h"]) {
      const [remote, own] = await byHost(table);
      expect(remote, table).toEqual({ ...own, host: REMOTE });
    }
    // Raw samples, 1-minute rollups, 10-minute and 1-hour periods: each host answers its own.
    for (const rangeMs of [10 * 60_000, DAY, 7 * DAY, 30 * DAY]) {
      const remote = await queryGpuHistory({ host: REMOTE, rangeMs, now: NOW });
      const own = await queryGpuHistory({ host: LOCAL_HOST, rangeMs, now: NOW });
      expect(remote.length, `${rangeMs} ms`).toBeGreaterThan(0);
      expect(new Set(remote.map((r) => r.utilization)), `${rangeMs} ms`).toEqual(new Set([7]));
      expect(Math.max(...own.map((r) => r.utilization!)), `${rangeMs} ms`).toBe(98);
    }
    expect(await queryGpuHistory({ host: "gpu-box-2", rangeMs: 7 * DAY, now: NOW })).toEqual([]);
  });

  it("prunes every host", async () => {
    process.env.AFS_RETENTION_AGG_DAYS = "2";
    const old = captureRows({ gpu: 0, endAt: NOW - 3 * DAY });
    await insertGpuSamples({ samples: [...old, ...remoteRows(old)] });
    const minutes = (await storeRows("SELECT host FROM gpu_samples_1m")).length;
    expect(await pruneGpuHistory({ now: NOW })).toEqual({ deletedSamples: 430, deletedMinutes: minutes });
    for (const table of ["gpu_samples", "gpu_samples_1m", "gpu_samples_10m", "gpu_samples_1h"]) expect(await byHost(table), table).toEqual([]);
  });
});

describe("10-minute and 1-hour periods", () => {
  const minutes = () => storeRows<Minute>("SELECT * FROM gpu_samples_1m");
  const same = (a: object, b: object) => JSON.stringify(a) === JSON.stringify(b);
  const shown = ({ timestamp, gpu_index, utilization, temperature_c, power_w }: GpuHistoryPoint) => ({ timestamp, gpu_index, utilization, temperature_c, power_w });

  // Period by period, what the 1-minute rollups say: the highest maximum, with the values of a
  // minute that has it, and the lowest mean likewise (one point where one minute has both).
  async function expectPicksOfMinutes({ rows, from, to, periodMs }: { rows: GpuHistoryPoint[]; from: number; to: number; periodMs: number }) {
    const all = await minutes();
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

  beforeEach(async () => {
    await insertGpuSamples({ samples: weekRows() });
  });

  it("answers 7 days in 500 points from the 10-minute periods, keeping every capture's 98 % peak", async () => {
    const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: 7 * DAY, points: 500, now: NOW });
    const all = await minutes();
    for (const gpu of [0, 1]) {
      const points = rows.filter((r) => r.gpu_index === gpu);
      expect(points.length).toBeLessThanOrEqual(500);
      // Every point is one minute's maxima or its means.
      for (const p of points.map(shown)) {
        const m = all.find((n) => n.gpu_index === gpu && n.minute === Date.parse(p.timestamp))!;
        expect([asPoint(m, "max"), asPoint(m, "mean")]).toContainEqual(p);
      }
      for (const endAt of weekEnds) {
        const capture = captureRows({ gpu, endAt: gpu === 0 ? endAt : endAt - 20 * 60_000 });
        if (capture[0].at < NOW - 7 * DAY) continue;
        const peak = points.find((p) => Date.parse(p.timestamp) >= Math.floor(capture[0].at / 60_000) * 60_000 && Date.parse(p.timestamp) <= capture.at(-1)!.at && p.utilization === 98);
        expect(peak).toBeDefined();
      }
    }
  });

  it("answers what the minutes say when each bucket is one 10-minute period", async () => {
    // 250 buckets of exactly 10 minutes, the first starting on a period boundary.
    const from = NOW - 3 * DAY;
    const rangeMs = 250 * 10 * 60_000 - 1;
    const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs, points: 500, now: from + rangeMs });
    await expectPicksOfMinutes({ rows, from, to: from + rangeMs, periodMs: 10 * 60_000 });
  });

  it("answers what the minutes say when each bucket is one hour", async () => {
    const from = NOW - 3 * DAY;
    const rangeMs = 24 * HOUR - 1;
    const rows = await queryGpuHistory({ host: LOCAL_HOST, rangeMs, points: 48, now: from + rangeMs });
    await expectPicksOfMinutes({ rows, from, to: from + rangeMs, periodMs: HOUR });
  });
});
