import "server-only";
import { appendAll, describeError } from "@/lib/errors";
import { insertGpuSamples, type GpuSampleRow } from "@/lib/store/gpu-samples";
import type { GpuReading } from "./types";

// Samples waiting for the store, and how many were given up because it stayed away too long.
export type GpuWriterStats = { buffered: number; dropped: number };

// One reading of a GPU of `host` ("local": the dashboard's own machine), taken at `at` (epoch ms).
export type GpuSample = { host: string; at: number; reading: GpuReading };

export type GpuSampleWriter = { add: (sample: GpuSample) => void; stop: () => Promise<void>; stats: () => GpuWriterStats };

// What the store keeps of one reading.
export function toSampleRow({ host, at, reading }: GpuSample): GpuSampleRow {
  return {
    host,
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
// stop, so the store sees one write per interval however many hosts, GPUs and lines arrive. While the
// store cannot take them, they stay buffered (at most maxBuffered, the oldest dropped first) and
// go in with the first write that succeeds.
export function startGpuSampleWriter({ flushIntervalMs, maxBuffered }: { flushIntervalMs: number; maxBuffered: number }): GpuSampleWriter {
  let pending: GpuSampleRow[] = [];
  let dropped = 0;
  let failing = false;
  let flushing: Promise<void> | null = null;
  const write = async () => {
    const samples = pending;
    pending = [];
    try {
      await insertGpuSamples({ samples });
      if (failing) console.log(`[afs] gpu samples stored again (${samples.length} were waiting)`);
      failing = false;
    } catch (error) {
      appendAll(samples, pending);
      pending = samples;
      const over = pending.length - maxBuffered;
      if (over > 0) {
        pending.splice(0, over);
        dropped += over;
      }
      if (!failing) console.error(`[afs] gpu samples not stored, kept in memory until the store takes them: ${describeError(error)}`);
      failing = true;
    }
  };
  const flush = () => {
    if (pending.length === 0 || flushing) return flushing ?? Promise.resolve();
    return (flushing = write().finally(() => (flushing = null)));
  };
  const timer = setInterval(flush, flushIntervalMs);
  timer.unref();
  return {
    add: (sample) => {
      pending.push(toSampleRow(sample));
      if (pending.length > maxBuffered) {
        pending.shift();
        dropped++;
      }
    },
    stop: async () => {
      clearInterval(timer);
      await flushing;
      await flush();
    },
    stats: () => ({ buffered: pending.length, dropped }),
  };
}
