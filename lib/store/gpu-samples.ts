import "server-only";
import { getEnv } from "@/lib/env";
import { appendAll } from "@/lib/errors";
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
type High = 0 | 1;
// Each table read as rows of one shape: `t` places a row in a bucket, `at` is the time it reports.
type Source = (high: High) => string;

// Read along each GPU's primary key (gpu_index, at) rather than the time index, which would look
// every row up again in the table; the GPUs are found by skipping through that key, one step each.
const sampleRows: Source = () =>
  `(SELECT at AS t, * FROM gpu_samples WHERE gpu_index IN (
     WITH RECURSIVE gpus(i) AS (
       SELECT MIN(gpu_index) FROM gpu_samples
       UNION ALL SELECT (SELECT MIN(gpu_index) FROM gpu_samples WHERE gpu_index > i) FROM gpus WHERE i IS NOT NULL
     )
     SELECT i FROM gpus))`;
const minuteRows: Source = (high) => {
  const stat = high ? MAX : MEAN;
  return `(SELECT minute AS t, minute AS at, gpu_index, ${stat.utilization} AS utilization, ${stat.memory_used_mb} AS memory_used_mb,
            memory_total_mb, ${stat.temperature_c} AS temperature_c, ${stat.power_w} AS power_w FROM gpu_samples_1m)`;
};
const periodRows = (table: string): Source => (high) => `(SELECT period AS t, * FROM ${table} WHERE high = ${high})`;

// Coarser than the minutes: each period keeps the two minutes a history bucket would pick from
// it (high = 1: the highest maximum, carrying that minute's maxima; high = 0: the lowest mean,
// carrying its means), so a bucket made of whole periods answers exactly what its minutes would.
// An hour is picked from its 10-minute periods' picks, which is the same as from its minutes.
const PERIODS = [
  { table: "gpu_samples_10m", ms: 10 * MINUTE, pickedFrom: minuteRows },
  { table: "gpu_samples_1h", ms: 60 * MINUTE, pickedFrom: periodRows("gpu_samples_10m") },
];

// Per GPU and group, the row with the highest utilization and the one with the lowest, each
// with the rest of its values, from the rows with @lo <= t <= @hi.
function pickSql({ source, group, filter }: { source: Source; group: string; filter: string }): string {
  const pick = (high: High) =>
    `SELECT gpu_index, at, ${high ? "MAX" : "MIN"}(utilization) AS utilization, memory_used_mb, memory_total_mb, temperature_c, power_w,
            ${high} AS high, ${group} AS grp
     FROM ${source(high)} WHERE t BETWEEN @lo AND @hi ${filter} GROUP BY gpu_index, grp`;
  return `${pick(1)} UNION ALL ${pick(0)}`;
}

// Stores a batch in one transaction and folds it into the 1-minute rollups and the periods as
// it goes, so long ranges read a few thousand rows instead of millions of samples.
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
  // A period is picked again, for every GPU, whenever one of its minutes changed; in PERIODS'
  // order, so an hour is picked from 10-minute periods already up to date.
  const repick = PERIODS.map(({ table, ms, pickedFrom }) => ({
    ms,
    statement: db.prepare(
      `INSERT OR REPLACE INTO ${table} (gpu_index, at, utilization, memory_used_mb, memory_total_mb, temperature_c, power_w, high, period)
       ${pickSql({ source: pickedFrom, group: `t / ${ms} * ${ms}`, filter: "" })}`,
    ),
  }));
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
    for (const { ms, statement } of repick) {
      const starts = new Set([...minutes.values()].map(([{ at }]) => Math.floor(at / ms) * ms));
      for (const lo of starts) statement.run({ lo, hi: lo + ms - 1 });
    }
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
    rollup[MAX[m]] = values.length ? values.reduce((a, b) => Math.max(a, b)) : null;
  }
  return rollup;
}

// Min/max buckets: each of N time buckets keeps its lowest and its highest utilization row, so
// a one-sample spike survives any zoom level; at most `points` rows per GPU (points >= 4).
// Buckets of a minute or more read the 1-minute rollups, as does any part of the range older
// than the oldest raw sample; buckets of 10 minutes or more read the longest periods that fit
// (10-minute or 1-hour), each whole period in one bucket. From a rollup or a period, a bucket's
// high point carries a minute's maxima and its low point a minute's means.
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
  const width = span / Math.floor(points / 2);
  const period = PERIODS.findLast((p) => width >= p.ms);

  const parts: Array<{ source: Source; lo: number; hi: number }> = [];
  if (period) {
    parts.push({ source: periodRows(period.table), lo: from, hi: to });
  } else {
    const oldestRaw = (db.prepare(`SELECT MIN(at) AS at FROM gpu_samples WHERE 1 ${filter}`).get({ gpu }) as { at: number | null }).at;
    // Raw coverage starts on a minute boundary (pruning cuts on one), so no minute is read twice.
    const rawStart = oldestRaw === null ? Infinity : Math.floor(oldestRaw / MINUTE) * MINUTE;
    const rawFrom = width >= MINUTE ? Infinity : Math.max(from, rawStart);
    if (rawFrom <= to) parts.push({ source: sampleRows, lo: rawFrom, hi: to });
    if (from < rawFrom) parts.push({ source: minuteRows, lo: from, hi: Math.min(to, rawFrom - 1) });
  }
  // Both sources can each fill the bucket that rawFrom falls in, so that bucket may hold four rows.
  const buckets = Math.floor((parts.length === 2 ? points - 2 : points) / 2);
  const group = "CAST((t - @from) * @buckets / @span AS INTEGER)";
  const rows: Array<GpuSampleRow & { high: number }> = [];
  for (const { source, lo, hi } of parts) {
    appendAll(rows, db.prepare(pickSql({ source, group, filter })).all({ from, span, buckets, gpu: gpu ?? null, lo, hi }) as typeof rows);
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
// insertGpuSamples keeps current) and rollups and periods older than the aggregate retention.
// Call it as often as you like; each call is one transaction.
export function pruneGpuHistory({ now = Date.now() }: { now?: number } = {}): { deletedSamples: number; deletedMinutes: number } {
  const { rawRetentionMs, aggRetentionMs } = getEnv().gpu;
  // Minute-aligned, so raw coverage starts where a whole rollup minute does.
  const rawCutoff = Math.floor((now - rawRetentionMs) / MINUTE) * MINUTE;
  const db = getDb();
  return db.transaction(() => {
    for (const { table } of PERIODS) db.prepare(`DELETE FROM ${table} WHERE period < ?`).run(now - aggRetentionMs);
    return {
      deletedSamples: db.prepare("DELETE FROM gpu_samples WHERE at < ?").run(rawCutoff).changes,
      deletedMinutes: db.prepare("DELETE FROM gpu_samples_1m WHERE minute < ?").run(now - aggRetentionMs).changes,
    };
  })();
}

function toGb(mb: number | null): number | null {
  return mb === null ? null : Math.round((mb / 1024) * 1000) / 1000;
}
