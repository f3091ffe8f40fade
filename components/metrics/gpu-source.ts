import type { GpuSnapshot, GpuUtilizationResponse } from "@/lib/schemas/api";

// Whether a GPU is being read now, from the history answer and the live stream's latest word.

// No GPU: the API says source "none", or the stream says the poller lost it or is off.
export function gpuUnavailable(data: GpuUtilizationResponse | undefined, status: GpuSnapshot["status"] | null): boolean {
  return !data || data.source === "none" || status === "unavailable" || status === "off";
}

// The `live` chip: the stream is open and it carries samples of a GPU that is being read.
export function gpuLive({ streaming, data, status }: { streaming: boolean; data: GpuUtilizationResponse | undefined; status: GpuSnapshot["status"] | null }): boolean {
  return streaming && !gpuUnavailable(data, status) && (status === null || status === "ok");
}
