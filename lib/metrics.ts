import "server-only";
import { spentAt } from "@/lib/billing/accrual";
import { ApiError } from "@/lib/errors";
import { getGpuSnapshot } from "@/lib/gpu/poller";
import { getHostView } from "@/lib/hosts/fleet";
import { round } from "@/lib/numbers";
import { queryGpuHistory } from "@/lib/store/gpu-samples";
import { findModel, type Snapshot } from "@/lib/models";
import { downsamplePoints } from "@/lib/runs/downsample";
import type { ModelRun, ScalarPoint } from "@/lib/runs/model-run";
import type { SeriesName } from "@/lib/schemas/series";
import { LOCAL_HOST, type ModelConfig } from "@/lib/schemas/config";
import type { GpuUtilizationResponse, ThroughputResponse, TrainingLossResponse } from "@/lib/schemas/api";
import { TIME_RANGES, type TimeRange } from "@/lib/schemas/time-range";

// One host's GPU history from the store, downsampled per GPU keeping peaks. For this machine,
// `source` names where live samples come from now ("replay" for a recording), or "none" when no
// GPU is being read (for a remote host, also while it does not answer).
export async function getGpuUtilization({
  host = LOCAL_HOST,
  range,
  gpu,
  points = 500,
}: {
  host?: string;
  range: TimeRange;
  gpu?: number;
  points?: number;
}): Promise<GpuUtilizationResponse> {
  const [{ current_utilization, source }, history] = await Promise.all([
    currentGpu({ host, gpu }),
    queryGpuHistory({ host, rangeMs: TIME_RANGES[range], gpu, points }),
  ]);
  const metrics = history.map((p) => ({
    timestamp: p.timestamp,
    gpu_index: p.gpu_index,
    utilization: p.utilization,
    memory_used_gb: p.memory_used_gb,
    memory_total_gb: p.memory_total_gb,
  }));
  return { metrics, current_utilization, source };
}

function currentGpu({ host, gpu }: { host: string; gpu?: number }): Pick<GpuUtilizationResponse, "current_utilization" | "source"> {
  const view = host === LOCAL_HOST ? null : getHostView(host);
  const snapshot = view?.gpu ?? getGpuSnapshot();
  const live = snapshot.status === "ok" && (!view || view.state === "online");
  const source = live && snapshot.source !== "off" ? snapshot.source : "none";
  const readings = snapshot.gpus.filter((g) => (gpu === undefined || g.index === gpu) && g.utilization !== null);
  return {
    current_utilization: source !== "none" && readings.length ? round(readings.reduce((sum, g) => sum + g.utilization!, 0) / readings.length, 1) : null,
    source,
  };
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

// The models asked for (404 for an unknown key), in config order.
function selectModels(snapshot: Snapshot, model?: string): ModelConfig[] {
  return model ? [findModel(snapshot.config.models, model)] : snapshot.config.models;
}

// One configured model's run; 404 for an unknown key.
function runOf(snapshot: Snapshot, key: string): ModelRun {
  return snapshot.runs.get(findModel(snapshot.config.models, key).key)!;
}

function seriesRows<A extends SeriesName, B extends SeriesName>(snapshot: Snapshot, opts: { model?: string; points: number; series: [A, B] }) {
  const shrink = (points: ScalarPoint[]) => downsamplePoints({ points, max: opts.points });
  return selectModels(snapshot, opts.model).flatMap((m) => {
    const run = snapshot.runs.get(m.key)!;
    const [a, b] = opts.series;
    return joinOnStep(m.key, [a, shrink(run.series[a])], [b, shrink(run.series[b])]);
  });
}

// Loss curves from the models' run files, downsampled per series to at most `points`.
export function getTrainingLoss(snapshot: Snapshot, opts: { model?: string; points: number }): TrainingLossResponse {
  const metrics = seriesRows(snapshot, { ...opts, series: ["train_loss", "val_loss"] }).map((row) => ({ ...row, ...spendAt(snapshot, row) }));
  const nonFinite = selectModels(snapshot, opts.model).flatMap((m) =>
    (["train_loss", "val_loss"] as const).flatMap((series) => {
      const found = snapshot.runs.get(m.key)!.non_finite[series];
      return found ? [{ model: m.key, series, ...found }] : [];
    }),
  );
  return { metrics, non_finite: nonFinite, source: metrics.length || nonFinite.length ? "runs" : "none" };
}

// The model's GPU hours and cost when a point was logged; unknown without a time, or where the
// model's cost is configured and not placed in time.
function spendAt(snapshot: Snapshot, { model, timestamp }: { model: string; timestamp: string | null }) {
  const { pieces, total_cost } = snapshot.details.get(model)!;
  if (timestamp === null || (!pieces.length && total_cost > 0)) return { gpu_hours: null, cost_usd: null };
  const spent = spentAt({ pieces, at: Date.parse(timestamp) });
  return { gpu_hours: round(spent.gpu_hours, 4), cost_usd: round(spent.usd, 4) };
}

export function getThroughput(snapshot: Snapshot, opts: { model?: string; points: number }): ThroughputResponse {
  const metrics = seriesRows(snapshot, { ...opts, series: ["samples_per_sec", "tokens_per_sec"] });
  return { metrics, source: metrics.length ? "runs" : "none" };
}

export function getModelRuns(snapshot: Snapshot, { key }: { key: string }) {
  const run = runOf(snapshot, key);
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

export function getScalars(snapshot: Snapshot, { key, tag, points }: { key: string; tag: string; points: number }) {
  const run = runOf(snapshot, key);
  const series = run.scalars.get(tag);
  if (!series) throw new ApiError("not_found", `No scalar "${tag}" for model "${key}"`, { tags: [...run.scalars.keys()].sort() });
  return {
    key,
    tag,
    points: downsamplePoints({ points: series, max: points }).map((p) => ({
      step: p.step,
      value: p.value,
      timestamp: p.wall_time === null ? null : new Date(p.wall_time).toISOString(),
    })),
  };
}
