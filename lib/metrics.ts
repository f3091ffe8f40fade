import "server-only";
import { getEnv } from "@/lib/env";
import { ApiError } from "@/lib/errors";
import { loadConfig } from "@/lib/data/config";
import { getGpuSnapshot } from "@/lib/gpu/poller";
import { round } from "@/lib/history";
import { queryGpuHistory } from "@/lib/store/gpu-samples";
import { findModel } from "@/lib/models";
import { readModelRun, type ScalarPoint } from "@/lib/runs/model-run";
import { listRunFolders } from "@/lib/runs/scan";
import type { SeriesName } from "@/lib/runs/tags";
import type { ModelConfig } from "@/lib/schemas/config";
import type { GpuUtilizationResponse, ThroughputResponse, TrainingLossResponse } from "@/lib/schemas/api";

export const TIME_RANGES = { "15m": 15 * 60_000, "1h": 3_600_000, "6h": 6 * 3_600_000, "24h": 86_400_000, "7d": 7 * 86_400_000, "30d": 30 * 86_400_000 } as const;
export type TimeRange = keyof typeof TIME_RANGES;

// GPU history from the store, downsampled per GPU keeping peaks. `source` names where live
// samples come from now ("replay" for a recording), or "none" when no GPU is being read.
export async function getGpuUtilization({ range, gpu, points = 500 }: { range: TimeRange; gpu?: number; points?: number }): Promise<GpuUtilizationResponse> {
  const snapshot = getGpuSnapshot();
  const source = snapshot.status === "ok" && snapshot.source !== "off" ? snapshot.source : "none";
  const readings = snapshot.gpus.filter((g) => (gpu === undefined || g.index === gpu) && g.utilization !== null);
  const metrics = queryGpuHistory({ rangeMs: TIME_RANGES[range], gpu, points }).map((p) => ({
    timestamp: p.timestamp,
    gpu_index: p.gpu_index,
    utilization: p.utilization,
    memory_used_gb: p.memory_used_gb,
    memory_total_gb: p.memory_total_gb,
  }));
  return {
    metrics,
    current_utilization: source !== "none" && readings.length ? round(readings.reduce((sum, g) => sum + g.utilization!, 0) / readings.length, 1) : null,
    source,
  };
}

async function selectModels(model?: string): Promise<ModelConfig[]> {
  const { config } = await loadConfig({ dataDir: getEnv().dataDir });
  return model ? [findModel(config.models, model)] : config.models;
}

// Two series of one model joined on step, as the seed's rows: one row per step that either has.
function joinOnStep<A extends string, B extends string>(model: string, a: [A, ScalarPoint[]], b: [B, ScalarPoint[]]) {
  const rows = new Map<number, { model: string; step: number; timestamp: string | null } & Record<A | B, number | null>>();
  for (const [name, points] of [a, b] as [A | B, ScalarPoint[]][]) {
    for (const p of points) {
      const row = rows.get(p.step) ?? ({ model, step: p.step, timestamp: null, [a[0]]: null, [b[0]]: null } as never);
      row[name] = p.value as never;
      if (p.wall_time !== null && row.timestamp === null) row.timestamp = new Date(p.wall_time).toISOString();
      rows.set(p.step, row);
    }
  }
  return [...rows.values()].sort((x, y) => x.step - y.step);
}

async function seriesRows<A extends SeriesName, B extends SeriesName>(opts: { model?: string; points?: number; series: [A, B] }) {
  const { dataDir } = getEnv();
  const runDirs = await listRunFolders({ dataDir });
  const rows = [];
  for (const m of await selectModels(opts.model)) {
    if (!runDirs.has(m.key)) continue;
    const run = await readModelRun({ dataDir, key: m.key, aliases: m.metrics, points: opts.points });
    const [a, b] = opts.series;
    rows.push(...joinOnStep(m.key, [a, run.series[a]], [b, run.series[b]]));
  }
  return rows;
}

// Loss curves from the models' run files, downsampled per series to at most `points`.
export async function getTrainingLoss(opts: { model?: string; points?: number }): Promise<TrainingLossResponse> {
  const metrics = await seriesRows({ ...opts, series: ["train_loss", "val_loss"] });
  return { metrics, source: metrics.length ? "runs" : "none" };
}

export async function getThroughput(opts: { model?: string; points?: number }): Promise<ThroughputResponse> {
  const metrics = await seriesRows({ ...opts, series: ["samples_per_sec", "tokens_per_sec"] });
  return { metrics, source: metrics.length ? "runs" : "none" };
}

// One configured model's run (404 for an unknown key), read with its own tag aliases.
async function readRunOf({ key, points }: { key: string; points?: number }) {
  const [model] = await selectModels(key);
  return readModelRun({ dataDir: getEnv().dataDir, key, aliases: model.metrics, points });
}

export async function getModelRuns({ key }: { key: string }) {
  const run = await readRunOf({ key });
  return {
    key,
    files: run.files.map((f) => ({
      ...f,
      first_time: f.first_time === null ? null : new Date(f.first_time).toISOString(),
      last_time: f.last_time === null ? null : new Date(f.last_time).toISOString(),
    })),
    progress: run.progress,
    completed: run.completed,
    last_record_at: run.last_record_at === null ? null : new Date(run.last_record_at).toISOString(),
    last_record_approximate: run.last_record_approximate,
    warnings: run.warnings,
  };
}

export async function getScalars({ key, tag, points }: { key: string; tag: string; points?: number }) {
  const run = await readRunOf({ key, points });
  const series = run.scalars.get(tag);
  if (!series) throw new ApiError("not_found", `No scalar "${tag}" for model "${key}"`, { tags: [...run.scalars.keys()].sort() });
  return {
    key,
    tag,
    points: series.map((p) => ({ step: p.step, value: p.value, timestamp: p.wall_time === null ? null : new Date(p.wall_time).toISOString() })),
  };
}
