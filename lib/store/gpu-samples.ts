import "server-only";
import { getEnv } from "@/lib/env";
import type { GpuReading } from "@/lib/gpu/types";
import { getDb } from "./db";

export type GpuSampleRow = {
  at: number; // epoch ms
  gpu_index: number;
  utilization: number | null;
  memory_used_mb: number | null;
  memory_total_mb: number | null;
  temperature_c: number | null;
  power_w: number | null;
};

// What the store keeps of one reading.
export function toSampleRow({ at, reading }: { at: number; reading: GpuReading }): GpuSampleRow {
  return {
    at,
    gpu_index: reading.index,
    utilization: reading.utilization,
    memory_used_mb: reading.memory_used_mb,
    memory_total_mb: reading.memory_total_mb,
    temperature_c: reading.temperature_c,
    power_w: reading.power_w,
  };
}

export type GpuHistoryPoint = {
  timestamp: string;
  gpu_index: number;
  utilization: number | null;
  memory_used_gb: number | null;
  memory_total_gb: number | null;
  temperature_c: number | null;
  power_w: number | null;
};

const MINUTE = 60_000;
const METRICS = ["utilization", "memory_used_mb", "temperature_c", "power_w"] as const;
const MEAN = { utilization: "utilization_mean", memory_used_mb: "memory_used_mean_mb", temperature_c: "temperature_mean_c", power_w: "power_mean_w" };
const MAX = { utilization: "utilization_max", memory_used_mb: "memory_used_max_mb", temperature_c: "temperature_max_c", power_w: "power_max_w" };

type Rollup = Record<string, number | null> & { minute: number; gpu_index: number; samples: number };

// Stores a batch in one transaction and folds it into the 1-minute rollups as it goes, so
// long ranges read a few thousand rollup rows instead of millions of samples.
export function insertGpuSamples({ samples }: { samples: GpuSampleRow[] }): void {
  if (samples.length === 0) return;
  const db = getDb();
  const insert = db.prepare(
    `INSERT OR IGNORE INTO gpu_samples (at, gpu_index, utilization, memory_used_mb, memory_total_mb, temperature_c, power_w)
     VALUES (@at, @gpu_index, @utilization, @memory_used_mb, @memory_total_mb, @temperature_c, @power_w)`,
  );
  // Means merge weighted by sample count; a side that has no value leaves the other's.
  const merge = METRICS.flatMap((m) => [
    `${MEAN[m]} = CASE WHEN ${MEAN[m]} IS NULL THEN excluded.${MEAN[m]} WHEN excluded.${MEAN[m]} IS NULL THEN ${MEAN[m]}
       ELSE (${MEAN[m]} * samples + excluded.${MEAN[m]} * excluded.samples) / (samples + excluded.samples) END`,
    `${MAX[m]} = COALESCE(MAX(${MAX[m]}, excluded.${MAX[m]}), ${MAX[m]}, excluded.${MAX[m]})`,
  ]);
  const columns = ["minute", "gpu_index", "samples", "memory_total_mb", ...METRICS.flatMap((m) => [MEAN[m], MAX[m]])];
  const upsert = db.prepare(
    `INSERT INTO gpu_samples_1m (${columns.join(", ")}) VALUES (${columns.map((c) => `@${c}`).join(", ")})
     ON CONFLICT (gpu_index, minute) DO UPDATE SET ${merge.join(", ")},
       memory_total_mb = COALESCE(excluded.memory_total_mb, memory_total_mb), samples = samples + excluded.samples`,
  );
  db.transaction(() => {
    const minutes = new Map<string, GpuSampleRow[]>();
    for (const s of samples) {
      // A sample already stored (same GPU, same millisecond) is not counted twice.
      if (insert.run(s).changes === 0) continue;
      const key = `${s.gpu_index}:${Math.floor(s.at / MINUTE)}`;
      const rows = minutes.get(key);
      if (rows) rows.push(s);
      else minutes.set(key, [s]);
    }
    for (const rows of minutes.values()) upsert.run(rollUp(rows));
  })();
}

function rollUp(rows: GpuSampleRow[]): Rollup {
  const rollup: Rollup = {
    minute: Math.floor(rows[0].at / MINUTE) * MINUTE,
    gpu_index: rows[0].gpu_index,
    samples: rows.length,
    memory_total_mb: rows.findLast((r) => r.memory_total_mb !== null)?.memory_total_mb ?? null,
  };
  for (const m of METRICS) {
    const values = rows.map((r) => r[m]).filter((v): v is number => v !== null);
    rollup[MEAN[m]] = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    rollup[MAX[m]] = values.length ? Math.max(...values) : null;
  }
  return rollup;
}

// Min/max buckets: each of N time buckets keeps its lowest and its highest utilization row, so
// a one-sample spike survives any zoom level; at most `points` rows per GPU (points >= 4).
// Buckets of a minute or more read the 1-minute rollups, as does any part of the range older
// than the oldest raw sample. From a rollup, a bucket's high point carries the minute's maxima
// and its low point the minute's means.
export function queryGpuHistory({
  rangeMs,
  gpu,
  points = 500,
  now = Date.now(),
}: {
  rangeMs: number;
  gpu?: number;
  points?: number;
  now?: number;
}): GpuHistoryPoint[] {
  if (!(points >= 4)) throw new RangeError(`points must be at least 4, got ${points}`);
  const db = getDb();
  const to = Math.round(now);
  const from = Math.round(now - rangeMs);
  const span = to - from + 1;
  const filter = gpu === undefined ? "" : "AND gpu_index = @gpu";
  const oldestRaw = (db.prepare(`SELECT MIN(at) AS at FROM gpu_samples WHERE 1 ${filter}`).get({ gpu }) as { at: number | null }).at;
  // Raw coverage starts on a minute boundary (pruning cuts on one), so no minute is read twice.
  const rawStart = oldestRaw === null ? Infinity : Math.floor(oldestRaw / MINUTE) * MINUTE;
  const rawFrom = span / Math.floor(points / 2) >= MINUTE ? Infinity : Math.max(from, rawStart);
  const useRaw = rawFrom <= to;
  const useRollups = from < rawFrom;
  // Both sources can each fill the bucket that rawFrom falls in, so that bucket may hold four rows.
  const buckets = Math.floor((useRaw && useRollups ? points - 2 : points) / 2);
  const params = { from, span, buckets, gpu: gpu ?? null };
  const bucket = (column: string) => `CAST((${column} - @from) * @buckets / @span AS INTEGER)`;

  const rows: Array<GpuSampleRow & { high: number }> = [];
  if (useRaw) {
    const pick = (fn: "MAX" | "MIN", high: number) =>
      `SELECT gpu_index, at, ${fn}(utilization) AS utilization, memory_used_mb, memory_total_mb, temperature_c, power_w,
              ${high} AS high, ${bucket("at")} AS bucket
       FROM gpu_samples WHERE at BETWEEN @lo AND @hi ${filter} GROUP BY gpu_index, bucket`;
    rows.push(...(db.prepare(`${pick("MAX", 1)} UNION ALL ${pick("MIN", 0)}`).all({ ...params, lo: rawFrom, hi: to }) as typeof rows));
  }
  if (useRollups) {
    const pick = (fn: "MAX" | "MIN", stat: typeof MEAN | typeof MAX, high: number) =>
      `SELECT gpu_index, minute AS at, ${fn}(${stat.utilization}) AS utilization, ${stat.memory_used_mb} AS memory_used_mb,
              memory_total_mb, ${stat.temperature_c} AS temperature_c, ${stat.power_w} AS power_w,
              ${high} AS high, ${bucket("minute")} AS bucket
       FROM gpu_samples_1m WHERE minute BETWEEN @lo AND @hi ${filter} GROUP BY gpu_index, bucket`;
    const hi = Math.min(to, rawFrom - 1);
    rows.push(...(db.prepare(`${pick("MAX", MAX, 1)} UNION ALL ${pick("MIN", MEAN, 0)}`).all({ ...params, lo: from, hi }) as typeof rows));
  }

  // One row per instant: where the low and the high pick are the same sample (or minute), keep the high one.
  rows.sort((a, b) => a.gpu_index - b.gpu_index || a.at - b.at || b.high - a.high);
  const result: GpuHistoryPoint[] = [];
  for (let i = 0; i < rows.length; i++) {
    const r = rows[i];
    if (i > 0 && rows[i - 1].gpu_index === r.gpu_index && rows[i - 1].at === r.at) continue;
    result.push({
      timestamp: new Date(r.at).toISOString(),
      gpu_index: r.gpu_index,
      utilization: r.utilization,
      memory_used_gb: toGb(r.memory_used_mb),
      memory_total_gb: toGb(r.memory_total_mb),
      temperature_c: r.temperature_c,
      power_w: r.power_w,
    });
  }
  return result;
}

// Drops raw samples older than the raw retention (their minutes live on in the rollups, which
// insertGpuSamples keeps current) and rollups older than the aggregate retention. Call it as
// often as you like; each call is one transaction.
export function pruneGpuHistory({ now = Date.now() }: { now?: number } = {}): { deletedSamples: number; deletedMinutes: number } {
  const { rawRetentionMs, aggRetentionMs } = getEnv().gpu;
  // Minute-aligned, so raw coverage starts where a whole rollup minute does.
  const rawCutoff = Math.floor((now - rawRetentionMs) / MINUTE) * MINUTE;
  const db = getDb();
  return db.transaction(() => ({
    deletedSamples: db.prepare("DELETE FROM gpu_samples WHERE at < ?").run(rawCutoff).changes,
    deletedMinutes: db.prepare("DELETE FROM gpu_samples_1m WHERE minute < ?").run(now - aggRetentionMs).changes,
  }))();
}

function toGb(mb: number | null): number | null {
  return mb === null ? null : Math.round((mb / 1024) * 1000) / 1000;
}
