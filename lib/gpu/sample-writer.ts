import "server-only";
import { insertGpuSamples, type GpuSampleRow } from "@/lib/store/gpu-samples";
import type { GpuReading } from "./types";

export type GpuSampleWriter = { add: (sample: { at: number; reading: GpuReading }) => void; stop: () => void };

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

// Buffers readings and stores them in one transaction every flushIntervalMs, and once more at
// stop, so the store sees one write per interval however many GPUs and lines arrive.
export function startGpuSampleWriter({ flushIntervalMs }: { flushIntervalMs: number }): GpuSampleWriter {
  let pending: GpuSampleRow[] = [];
  const flush = () => {
    if (pending.length === 0) return;
    const samples = pending;
    pending = [];
    try {
      insertGpuSamples({ samples });
    } catch (err) {
      console.error("[afs] gpu samples not stored:", err);
    }
  };
  const timer = setInterval(flush, flushIntervalMs);
  timer.unref();
  return {
    add: (sample) => pending.push(toSampleRow(sample)),
    stop: () => {
      clearInterval(timer);
      flush();
    },
  };
}
