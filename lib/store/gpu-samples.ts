import "server-only";
import { CompiledQuery, sql, type QueryResult, type RawBuilder, type Transaction } from "kysely";
import { getEnv } from "@/lib/env";
import { appendAll } from "@/lib/errors";
import { getStore, type Engine, type Tables } from "./db";
import { distinctValues, greatest, pickRows, placeholder, rawSampleRows } from "./dialects";

export type GpuSampleRow = {
  host: string; // "local" for the dashboard's own machine
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

type Rollup = Record<string, number | string | null> & { host: string; minute: number; gpu_index: number; samples: number };
type High = 0 | 1;
// Each table read as one host's rows of one shape: `t` places a row in a bucket, `at` is the time it reports.
type Source = (high: High, engine: Engine, host: string) => RawBuilder<unknown>;

const sampleRows: Source = (_high, engine, host) => rawSampleRows(engine, host);
const minuteRows: Source = (high, _engine, host) => {
  const stat = high ? MAX : MEAN;
  const columns = sql.raw(`${stat.utilization} AS utilization, ${stat.memory_used_mb} AS memory_used_mb, memory_total_mb,
    ${stat.temperature_c} AS temperature_c, ${stat.power_w} AS power_w`);
  return sql`(SELECT minute AS t, minute AS at, gpu_index, ${columns} FROM gpu_samples_1m WHERE host = ${host})`;
};
const periodRows = (table: string): Source => (high, _engine, host) => sql`(SELECT period AS t, * FROM ${sql.table(table)} WHERE host = ${host} AND high = ${high})`;

// Coarser than the minutes: each period keeps the two minutes a history bucket would pick from
// it (high = 1: the highest maximum, carrying that minute's maxima; high = 0: the lowest mean,
// carrying its means), so a bucket made of whole periods answers exactly what its minutes would.
// An hour is picked from its 10-minute periods' picks, which is the same as from its minutes.
const PERIODS = [
  { table: "gpu_samples_10m", ms: 10 * MINUTE, pickedFrom: minuteRows },
  { table: "gpu_samples_1h", ms: 60 * MINUTE, pickedFrom: periodRows("gpu_samples_10m") },
];

const SAMPLE_COLUMNS = ["host", "at", "gpu_index", "utilization", "memory_used_mb", "memory_total_mb", "temperature_c", "power_w"] as const;
const ROLLUP_COLUMNS = ["host", "minute", "gpu_index", "samples", "memory_total_mb", ...METRICS.flatMap((m) => [MEAN[m], MAX[m]])];
// Rows per statement: far below either engine's limit on parameters.
const ROWS_PER_STATEMENT = 500;

// Per GPU of one host and group, the row with the highest utilization and the one with the
// lowest, each with the rest of its values, from the rows with lo <= t <= hi.
function pickSql(
  engine: Engine,
  { source, host, group, gpu, lo, hi }: { source: Source; host: string; group: RawBuilder<unknown>; gpu?: number; lo: number; hi: number },
) {
  const where = gpu === undefined ? sql`t BETWEEN ${lo} AND ${hi}` : sql`t BETWEEN ${lo} AND ${hi} AND gpu_index = ${gpu}`;
  const pick = (high: High) => pickRows(engine, { rows: source(high, engine, host), high, group, where });
  return sql`${pick(1)} UNION ALL ${pick(0)}`;
}

// A multi-row INSERT compiled by hand: Kysely's template makes a node per parameter, which cost
// bulk ingest more than the statement itself.
function insertRows<R>(
  trx: Transaction<Tables>,
  engine: Engine,
  { into, rows, columns, then }: { into: string; rows: Record<string, number | string | null>[]; columns: readonly string[]; then: string },
) {
  const parameters: unknown[] = [];
  const tuples = rows.map((row) => `(${columns.map((c) => placeholder(engine, parameters.push(row[c]))).join(", ")})`);
  return trx.executeQuery(CompiledQuery.raw(`INSERT INTO ${into} (${columns.join(", ")}) VALUES ${tuples.join(", ")} ${then}`, parameters)) as Promise<QueryResult<R>>;
}

// Stores a batch in one transaction and folds it into the 1-minute rollups and the periods as
// it goes, so long ranges read a few thousand rows instead of millions of samples. A batch may
// hold several hosts' samples. Several processes may write at once: each merges its own samples
// into the stored rollups.
export async function insertGpuSamples({ samples }: { samples: GpuSampleRow[] }): Promise<void> {
  if (samples.length === 0) return;
  const { db, engine } = await getStore();
  const table = (name: string) => `gpu_samples_1m.${name}`;
  // Means merge weighted by sample count; a side that has no value leaves the other's.
  const merge = METRICS.flatMap((m) => [
    `${MEAN[m]} = CASE WHEN ${table(MEAN[m])} IS NULL THEN excluded.${MEAN[m]} WHEN excluded.${MEAN[m]} IS NULL THEN ${table(MEAN[m])}
       ELSE (${table(MEAN[m])} * ${table("samples")} + excluded.${MEAN[m]} * excluded.samples) / (${table("samples")} + excluded.samples) END`,
    `${MAX[m]} = ${greatest(engine, table(MAX[m]), `excluded.${MAX[m]}`)}`,
  ]);
  await db.transaction().execute(async (trx) => {
    const minutes = new Map<string, GpuSampleRow[]>();
    const id = ({ host, gpu_index, at }: { host: string; gpu_index: number; at: number }) => `${host}\0${gpu_index}\0${at}`;
    const byKey = new Map(samples.map((s) => [id(s), s]));
    for (let i = 0; i < samples.length; i += ROWS_PER_STATEMENT) {
      const batch = samples.slice(i, i + ROWS_PER_STATEMENT);
      // A sample already stored (same host, GPU and millisecond) is not counted twice.
      const { rows } = await insertRows<{ host: string; gpu_index: number; at: number }>(trx, engine, {
        into: "gpu_samples",
        rows: batch,
        columns: SAMPLE_COLUMNS,
        then: "ON CONFLICT DO NOTHING RETURNING host, gpu_index, at",
      });
      for (const row of rows) {
        const sample = byKey.get(id(row))!;
        byKey.delete(id(row));
        const key = id({ ...row, at: Math.floor(row.at / MINUTE) });
        const group = minutes.get(key);
        if (group) group.push(sample);
        else minutes.set(key, [sample]);
      }
    }
    const rollups = [...minutes.values()].map((rows) => rollUp(rows.sort((a, b) => a.at - b.at)));
    for (let i = 0; i < rollups.length; i += ROWS_PER_STATEMENT) {
      await insertRows(trx, engine, {
        into: "gpu_samples_1m",
        rows: rollups.slice(i, i + ROWS_PER_STATEMENT),
        columns: ROLLUP_COLUMNS,
        then: `ON CONFLICT (host, gpu_index, minute) DO UPDATE SET ${merge.join(", ")},
          memory_total_mb = COALESCE(excluded.memory_total_mb, ${table("memory_total_mb")}), samples = ${table("samples")} + excluded.samples`,
      });
    }
    // Per host, the periods holding a changed minute are picked again, for every GPU; in
    // PERIODS' order, so an hour is picked from 10-minute periods already up to date.
    for (const host of new Set(rollups.map((r) => r.host))) {
      const changed = rollups.filter((r) => r.host === host).map((r) => r.minute);
      const first = Math.min(...changed);
      const last = Math.max(...changed);
      for (const { table: periods, ms, pickedFrom } of PERIODS) {
        const lo = Math.floor(first / ms) * ms;
        const hi = Math.floor(last / ms) * ms + ms - 1;
        await sql`INSERT INTO ${sql.raw(periods)} (host, gpu_index, at, utilization, memory_used_mb, memory_total_mb, temperature_c, power_w, high, period)
          SELECT ${host}, * FROM (${pickSql(engine, { source: pickedFrom, host, group: sql.raw(`t / ${ms} * ${ms}`), lo, hi })}) AS picked WHERE true
          ON CONFLICT (host, period, gpu_index, high) DO UPDATE SET at = excluded.at, utilization = excluded.utilization, memory_used_mb = excluded.memory_used_mb,
            memory_total_mb = excluded.memory_total_mb, temperature_c = excluded.temperature_c, power_w = excluded.power_w`.execute(trx);
      }
    }
  });
}

function rollUp(rows: GpuSampleRow[]): Rollup {
  const rollup: Rollup = {
    host: rows[0].host,
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

// One host's history. Min/max buckets: each of N time buckets keeps its lowest and its highest
// utilization row, so a one-sample spike survives any zoom level; at most `points` rows per GPU
// (points >= 4).
// Buckets of a minute or more read the 1-minute rollups, as does any part of the range older
// than the oldest raw sample; buckets of 10 minutes or more read the longest periods that fit
// (10-minute or 1-hour), each whole period in one bucket. From a rollup or a period, a bucket's
// high point carries a minute's maxima and its low point a minute's means.
export async function queryGpuHistory({
  host,
  rangeMs,
  gpu,
  points = 500,
  now = Date.now(),
}: {
  host: string;
  rangeMs: number;
  gpu?: number;
  points?: number;
  now?: number;
}): Promise<GpuHistoryPoint[]> {
  if (!(points >= 4)) throw new RangeError(`points must be at least 4, got ${points}`);
  const { db, engine } = await getStore();
  const to = Math.round(now);
  const from = Math.round(now - rangeMs);
  const span = to - from + 1;
  const width = span / Math.floor(points / 2);
  const period = PERIODS.findLast((p) => width >= p.ms);

  const parts: Array<{ source: Source; lo: number; hi: number }> = [];
  if (period) {
    parts.push({ source: periodRows(period.table), lo: from, hi: to });
  } else {
    const where = gpu === undefined ? sql`host = ${host}` : sql`host = ${host} AND gpu_index = ${gpu}`;
    const { rows: [{ oldest: oldestRaw }] } = await sql<{ oldest: number | null }>`SELECT MIN(at) AS oldest FROM gpu_samples WHERE ${where}`.execute(db);
    // Raw coverage starts on a minute boundary (pruning cuts on one), so no minute is read twice.
    const rawStart = oldestRaw === null ? Infinity : Math.floor(oldestRaw / MINUTE) * MINUTE;
    const rawFrom = width >= MINUTE ? Infinity : Math.max(from, rawStart);
    if (rawFrom <= to) parts.push({ source: sampleRows, lo: rawFrom, hi: to });
    if (from < rawFrom) parts.push({ source: minuteRows, lo: from, hi: Math.min(to, rawFrom - 1) });
  }
  // Both sources can each fill the bucket that rawFrom falls in, so that bucket may hold four rows.
  const buckets = Math.floor((parts.length === 2 ? points - 2 : points) / 2);
  const group = sql`CAST((t - ${from}) * ${buckets} / ${span} AS BIGINT)`;
  const rows: Array<GpuSampleRow & { high: number }> = [];
  for (const { source, lo, hi } of parts) {
    appendAll(rows, (await sql<GpuSampleRow & { high: number }>`${pickSql(engine, { source, host, group, gpu, lo, hi })}`.execute(db)).rows);
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

// Drops every host's raw samples older than the raw retention (their minutes live on in the
// rollups, which insertGpuSamples keeps current) and rollups and periods older than the
// aggregate retention. Call it as often as you like; each call is one transaction.
export async function pruneGpuHistory({ now = Date.now() }: { now?: number } = {}): Promise<{ deletedSamples: number; deletedMinutes: number }> {
  const { rawRetentionMs, aggRetentionMs } = getEnv().gpu;
  // Minute-aligned, so raw coverage starts where a whole rollup minute does.
  const rawCutoff = Math.floor((now - rawRetentionMs) / MINUTE) * MINUTE;
  const aggCutoff = Math.floor(now - aggRetentionMs);
  const { db } = await getStore();
  return db.transaction().execute(async (trx) => {
    // Host by host, so each delete reads a (host, time) key instead of the whole table.
    const deleteBefore = async ({ table, column, cutoff }: { table: string; column: string; cutoff: number }) => {
      const hosts = distinctValues({ table, column: "host", within: sql`true` });
      const { numAffectedRows } = await sql`DELETE FROM ${sql.table(table)} WHERE host IN (${hosts}) AND ${sql.ref(column)} < ${cutoff}`.execute(trx);
      return Number(numAffectedRows ?? 0);
    };
    for (const { table } of PERIODS) await deleteBefore({ table, column: "period", cutoff: aggCutoff });
    return {
      deletedSamples: await deleteBefore({ table: "gpu_samples", column: "at", cutoff: rawCutoff }),
      deletedMinutes: await deleteBefore({ table: "gpu_samples_1m", column: "minute", cutoff: aggCutoff }),
    };
  });
}

function toGb(mb: number | null): number | null {
  return mb === null ? null : Math.round((mb / 1024) * 1000) / 1000;
}
