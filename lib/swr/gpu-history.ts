import type { GpuSnapshot, GpuUtilizationResponse } from "@/lib/schemas/api";

type GpuPoint = GpuUtilizationResponse["metrics"][number];

const mbToGb = (mb: number | null) => (mb === null ? null : Math.round((mb / 1024) * 1000) / 1000);

// The mean utilization over the GPUs of a live sample; null when none reports one.
export function snapshotUtilization(snapshot: GpuSnapshot): number | null {
  const values = snapshot.gpus.map((g) => g.utilization).filter((u): u is number => u !== null);
  return values.length ? Math.round((values.reduce((a, b) => a + b, 0) / values.length) * 10) / 10 : null;
}

// Appends one live sample (the `gpu` event of /api/stream) to a history answer, dropping what
// fell out of the time range. Samples from a source in trouble, or already present, change nothing.
export function appendGpuSnapshot(res: GpuUtilizationResponse, snapshot: GpuSnapshot, rangeMs: number): GpuUtilizationResponse {
  if (snapshot.status !== "ok" || !snapshot.sampled_at || snapshot.gpus.length === 0) return res;
  const at = Date.parse(snapshot.sampled_at);
  if (Number.isNaN(at)) return res;
  const newest = res.metrics.reduce((max, m) => Math.max(max, Date.parse(m.timestamp)), -Infinity);
  if (at <= newest) return res;
  const added: GpuPoint[] = snapshot.gpus.map((g) => ({
    timestamp: snapshot.sampled_at!,
    gpu_index: g.index,
    utilization: g.utilization,
    memory_used_gb: mbToGb(g.memory_used_mb),
    memory_total_gb: mbToGb(g.memory_total_mb),
  }));
  const kept = res.metrics.filter((m) => Date.parse(m.timestamp) >= at - rangeMs);
  return {
    metrics: [...kept, ...added],
    current_utilization: snapshotUtilization(snapshot),
    source: snapshot.source === "replay" ? "replay" : "nvidia-smi",
  };
}
