import "server-only";
import path from "node:path";
import { getEnv, type GpuSourceSetting } from "@/lib/env";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { LatestReadings } from "./latest-readings";
import { startNvidiaSmi, type NvidiaSmiOptions, type NvidiaSmiStats } from "./nvidia-smi";
import { startGpuReplay } from "./replay";
import { startGpuSampleWriter, type GpuSampleWriter, type GpuWriterStats } from "./sample-writer";
import type { GpuSnapshot, GpuSourceKind } from "./types";

export type GpuPollerOptions = NvidiaSmiOptions & { source: GpuSourceSetting; flushIntervalMs: number };

export type GpuSnapshotListener = (snapshot: GpuSnapshot) => void;

// What is running: the state every read answers from, the source feeding it, the writer storing it.
type GpuPoller = { state: LatestReadings; feed: { stop: () => void | Promise<void>; stats?: () => NvidiaSmiStats } | null; writer: GpuSampleWriter | null };

const NO_CHILD: NvidiaSmiStats = { pid: null, restarts: 0, last_line_at: null };

// One poller per server process, on globalThis so dev hot reload does not start a second child.
const g = globalThis as typeof globalThis & { __afsGpuPoller?: GpuPoller; __afsGpuListeners?: Set<GpuSnapshotListener>; __afsSharedGpu?: GpuSnapshot };
const listeners = (g.__afsGpuListeners ??= new Set());

// Starts the configured source (AFS_GPU_SOURCE) unless one is already running; options
// override the environment (tests use short intervals and backoff).
export function startGpuPoller(options: Partial<GpuPollerOptions> = {}): void {
  if (g.__afsGpuPoller) return;
  const config = getEnv().gpu;
  const opts: GpuPollerOptions = {
    source: config.source,
    nvidiaSmi: config.nvidiaSmi,
    intervalMs: config.intervalMs,
    backoffBaseMs: 1000,
    backoffMaxMs: 60_000,
    appsIntervalMs: 5000,
    flushIntervalMs: 1000,
    startupGraceMs: 15_000,
    ...options,
  };
  const source = toSourceKind({ setting: opts.source });
  const writer = source === "off" ? null : startGpuSampleWriter({ flushIntervalMs: opts.flushIntervalMs, maxBuffered: config.bufferSamples });
  const state = new LatestReadings({ source, store: (sample) => writer?.add({ host: LOCAL_HOST, ...sample }), notify: notifyListeners });
  if (source === "off") state.setStatus({ status: "off" });
  const feed =
    source === "off"
      ? null
      : source === "nvidia-smi"
        ? startNvidiaSmi({ options: opts, state })
        : startReplayFeed({ file: opts.source.slice("replay:".length), state });
  g.__afsGpuPoller = { state, feed, writer };
}

// Ends the child (or replay), writes the samples not yet stored, and forgets the poller.
export async function stopGpuPoller(): Promise<void> {
  const poller = g.__afsGpuPoller;
  g.__afsGpuPoller = undefined;
  await poller?.feed?.stop();
  await poller?.writer?.stop();
}

export function getGpuSnapshot(): GpuSnapshot {
  const poller = g.__afsGpuPoller;
  if (poller) return poller.state.snapshot();
  if (g.__afsSharedGpu) return g.__afsSharedGpu;
  return { source: toSourceKind({ setting: getEnv().gpu.source }), status: "stopped", sampled_at: null, gpus: [] };
}

// What the process that polls this host's GPUs (another server on the same PostgreSQL store)
// last saw: answered while this process does not poll, and sent out on the live stream.
export function receiveSharedGpuSnapshot(snapshot: GpuSnapshot): void {
  g.__afsSharedGpu = snapshot;
  if (!g.__afsGpuPoller) notifyListeners(snapshot);
}

// Called with a fresh snapshot after every batch of lines and on every status change.
export function subscribeGpuSnapshots(listener: GpuSnapshotListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// For health checks and tests: the nvidia-smi child's pid, how often it was restarted, and when it last printed.
export function getGpuPollerStats(): NvidiaSmiStats {
  return g.__afsGpuPoller?.feed?.stats?.() ?? NO_CHILD;
}

// Samples the writer holds while the store is away, and those it had to drop.
export function getGpuWriterStats(): GpuWriterStats {
  return g.__afsGpuPoller?.writer?.stats() ?? { buffered: 0, dropped: 0 };
}

function toSourceKind({ setting }: { setting: GpuSourceSetting }): GpuSourceKind {
  return setting === "off" || setting === "nvidia-smi" ? setting : "replay";
}

function notifyListeners(snapshot: GpuSnapshot) {
  for (const listener of listeners) {
    try {
      listener(snapshot);
    } catch (err) {
      console.error("[afs] gpu snapshot listener failed:", err);
    }
  }
}

// Plays a capture into the state; an unreadable capture leaves the state unavailable.
function startReplayFeed({ file, state }: { file: string; state: LatestReadings }): { stop: () => void } | null {
  try {
    return startGpuReplay({
      path: path.resolve(file),
      onTick: ({ timestamp, readings }) => {
        for (const reading of readings) state.addReading({ at: timestamp, reading });
        state.setStatus({ status: "ok" });
        state.emit();
      },
    });
  } catch (err) {
    state.setStatus({ status: "unavailable", reason: `replay: ${(err as Error).message}` });
    return null;
  }
}
