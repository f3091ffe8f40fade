import "server-only";
import { subscribeEvents } from "@/lib/events";

// Which GPUs sit idle: per host and GPU, since when its utilization has stayed under the
// threshold, reading after reading. A GPU that reports no utilization, or whose host has not
// been heard from lately, is not called idle: nobody knows.

export type IdleGpu = { host: string; index: number; since: number };

type Track = { below_since: number | null; last_at: number };

// A GPU not heard from for this long is left out (its host went away, or it is no longer polled).
const FRESH_MS = 60_000;

export class IdleWatch {
  private tracks = new Map<string, Track & { host: string; index: number }>();

  constructor(private readonly opts: { utilPercent: number }) {}

  observe({ host, at, gpus }: { host: string; at: number; gpus: { index: number; utilization: number | null }[] }): void {
    for (const gpu of gpus) {
      const key = `${host}\0${gpu.index}`;
      const track = this.tracks.get(key) ?? { host, index: gpu.index, below_since: null, last_at: at };
      const idle = gpu.utilization !== null && gpu.utilization < this.opts.utilPercent;
      track.below_since = idle ? (track.below_since ?? at) : null;
      track.last_at = at;
      this.tracks.set(key, track);
    }
  }

  // GPUs under the threshold for at least `forMs` as of `now`, oldest first.
  idle({ now, forMs }: { now: number; forMs: number }): IdleGpu[] {
    return [...this.tracks.values()]
      .filter((t) => t.below_since !== null && now - t.below_since >= forMs && now - t.last_at <= FRESH_MS)
      .map((t) => ({ host: t.host, index: t.index, since: t.below_since! }))
      .sort((a, b) => a.since - b.since || a.host.localeCompare(b.host) || a.index - b.index);
  }
}

const g = globalThis as typeof globalThis & { __afsIdle?: { watch: IdleWatch; stop: () => void } };

// Watches every GPU snapshot on the live bus (this machine's, and each remote host's, read here
// or heard from another process). Started once per server.
export function startIdleWatch({ utilPercent }: { utilPercent: number }): void {
  if (g.__afsIdle) return;
  const watch = new IdleWatch({ utilPercent });
  const stop = subscribeEvents((event) => {
    if (event.type !== "gpu" || event.data.sampled_at === null) return;
    watch.observe({ host: event.data.host, at: Date.parse(event.data.sampled_at), gpus: event.data.gpus });
  });
  g.__afsIdle = { watch, stop };
}

// The GPUs idle for `forMs` now; none where no watch runs (a process that serves nothing).
export function idleGpusNow({ now, forMs }: { now: number; forMs: number }): IdleGpu[] {
  return g.__afsIdle?.watch.idle({ now, forMs }) ?? [];
}
