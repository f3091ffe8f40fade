import { describe, expect, it } from "vitest";
import { gpuLive, gpuUnavailable } from "@/components/metrics/gpu-source";
import type { GpuUtilizationResponse } from "@/lib/schemas/api";

const answer = (source: GpuUtilizationResponse["source"]): GpuUtilizationResponse => ({ metrics: [], current_utilization: null, source });

describe("GPU source", () => {
  it("is unavailable without an answer, with source none, or when the stream says it is lost or off", () => {
    expect(gpuUnavailable(undefined, null)).toBe(true);
    expect(gpuUnavailable(answer("none"), null)).toBe(true);
    expect(gpuUnavailable(answer("nvidia-smi"), "unavailable")).toBe(true);
    expect(gpuUnavailable(answer("nvidia-smi"), "off")).toBe(true);
    expect(gpuUnavailable(answer("replay"), "ok")).toBe(false);
  });

  it("is live only while the stream is open and carries samples of a GPU being read", () => {
    expect(gpuLive({ streaming: true, data: answer("nvidia-smi"), status: null })).toBe(true);
    expect(gpuLive({ streaming: true, data: answer("replay"), status: "ok" })).toBe(true);
    expect(gpuLive({ streaming: false, data: answer("nvidia-smi"), status: "ok" })).toBe(false);
    // No NVIDIA GPU detected: never a live chip beside it.
    expect(gpuLive({ streaming: true, data: answer("none"), status: null })).toBe(false);
    expect(gpuLive({ streaming: true, data: answer("nvidia-smi"), status: "unavailable" })).toBe(false);
    expect(gpuLive({ streaming: true, data: answer("nvidia-smi"), status: "off" })).toBe(false);
    expect(gpuLive({ streaming: true, data: answer("nvidia-smi"), status: "error" })).toBe(false);
    expect(gpuLive({ streaming: true, data: answer("nvidia-smi"), status: "stopped" })).toBe(false);
  });
});
