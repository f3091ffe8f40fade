import type { GpuUtilizationResponse, ThroughputResponse, TrainingLossResponse } from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";

// Pure transforms from API answers to chart series. x is a step or epoch ms; y null is a gap.
export type XY = { x: number; y: number | null };

type GpuPoint = GpuUtilizationResponse["metrics"][number];

export type GpuSeries = {
  gpus: Array<{ index: number; utilization: XY[]; memory: XY[] }>;
  // The largest total memory reported: the memory axis's maximum (the card's real size).
  memoryTotalGb: number | null;
};

export function gpuSeries(metrics: GpuPoint[]): GpuSeries {
  const byIndex = new Map<number, { index: number; utilization: XY[]; memory: XY[] }>();
  let memoryTotalGb: number | null = null;
  const sorted = [...metrics].sort((a, b) => Date.parse(a.timestamp) - Date.parse(b.timestamp));
  for (const m of sorted) {
    const x = Date.parse(m.timestamp);
    if (Number.isNaN(x)) continue;
    const gpu = byIndex.get(m.gpu_index) ?? { index: m.gpu_index, utilization: [], memory: [] };
    gpu.utilization.push({ x, y: m.utilization });
    gpu.memory.push({ x, y: m.memory_used_gb });
    byIndex.set(m.gpu_index, gpu);
    if (m.memory_total_gb !== null) memoryTotalGb = Math.max(memoryTotalGb ?? 0, m.memory_total_gb);
  }
  return { gpus: [...byIndex.values()].sort((a, b) => a.index - b.index), memoryTotalGb };
}

export function hasGpuData(res: GpuUtilizationResponse | undefined): res is GpuUtilizationResponse {
  return !!res && res.metrics.some((m) => m.utilization !== null || m.memory_used_gb !== null);
}

export type LossSeries = { train: XY[]; val: XY[] };

type LossPoint = TrainingLossResponse["metrics"][number];

// What the loss is drawn against: the step, or when the point was logged, in wall time (epoch
// ms), in the model's GPU hours or in its spend. The keys are the ?loss_x= values.
export const LOSS_X_AXES = {
  step: { label: "Step", x: (p: LossPoint) => p.step },
  time: { label: "Wall time", x: (p: LossPoint) => (p.timestamp === null ? null : Date.parse(p.timestamp)) },
  gpu_hours: { label: "GPU hours", x: (p: LossPoint) => p.gpu_hours },
  cost: { label: "Spend", x: (p: LossPoint) => p.cost_usd },
} as const;
export type LossXAxis = keyof typeof LOSS_X_AXES;

export function parseLossXAxis(value: string | null): LossXAxis {
  return value !== null && Object.hasOwn(LOSS_X_AXES, value) ? (value as LossXAxis) : "step";
}

// A model's losses in step order against the chosen x; points with no such x are left out.
export function lossSeries(metrics: TrainingLossResponse["metrics"], model: string, axis: LossXAxis = "step"): LossSeries {
  const xOf = LOSS_X_AXES[axis].x;
  const rows = metrics
    .filter((m) => m.model === model)
    .sort((a, b) => a.step - b.step)
    .flatMap((m) => {
      const x = xOf(m);
      return x === null || !Number.isFinite(x) ? [] : [{ x, train: m.train_loss, val: m.val_loss }];
    });
  return {
    train: rows.filter((r) => r.train !== null).map((r) => ({ x: r.x, y: r.train })),
    val: rows.filter((r) => r.val !== null).map((r) => ({ x: r.x, y: r.val })),
  };
}

export type Divergence = TrainingLossResponse["non_finite"][number];

// Where a model's losses went NaN or infinite, for the chart to mark and the card to say.
export function divergences(nonFinite: readonly Divergence[], model: string): Divergence[] {
  return nonFinite.filter((d) => d.model === model);
}

export type ThroughputSeries = { samples: XY[]; tokens: XY[] };

export function throughputSeries(metrics: ThroughputResponse["metrics"], model: string): ThroughputSeries {
  const rows = metrics.filter((m) => m.model === model).sort((a, b) => a.step - b.step);
  return {
    samples: rows.filter((r) => r.samples_per_sec !== null).map((r) => ({ x: r.step, y: r.samples_per_sec })),
    tokens: rows.filter((r) => r.tokens_per_sec !== null).map((r) => ({ x: r.step, y: r.tokens_per_sec })),
  };
}

// The models that have at least one loss point, in the order first seen.
export function modelsWithCurves(metrics: TrainingLossResponse["metrics"]): string[] {
  const seen = new Set<string>();
  for (const m of metrics) if (m.train_loss !== null || m.val_loss !== null) seen.add(m.model);
  return [...seen];
}

// The model the metrics tab shows: the one asked for (?model=) if it exists, else the first with
// loss curves, else the first. Also used by the page, to send that model's curves with the HTML.
export function chooseModel({ requested, models, withCurves }: { requested: string | null; models: Array<{ key: string }>; withCurves: string[] }): string | null {
  return models.find((m) => m.key === requested)?.key ?? withCurves[0] ?? models[0]?.key ?? null;
}

// The host the GPU chart shows: the one asked for (?host=) while it is a known host (or before
// the host list arrives), else this machine.
export function chooseHost({ requested, hosts }: { requested: string | null; hosts: string[] | undefined }): string {
  if (requested === null || (hosts && !hosts.includes(requested))) return LOCAL_HOST;
  return requested;
}

// A lone measurement is a number, not a curve: true when every non-empty series has exactly one
// point (and one has), so the card shows it as a stat instead of a chart with a single dot.
export function isSinglePoint(...series: XY[][]): boolean {
  const drawn = series.filter((s) => s.length > 0);
  return drawn.length > 0 && drawn.every((s) => s.length === 1);
}
