import "server-only";
import { EventEmitter } from "node:events";
import type { GpuSnapshot, ModelStatus } from "@/lib/schemas/api";

// idle_gpu: a billed GPU has just been idle for AFS_IDLE_MINUTES (once per idle stretch).
export type LiveEvent =
  | { type: "gpu"; data: GpuSnapshot & { host: string } }
  | { type: "status"; data: ModelStatus }
  | { type: "idle_gpu"; data: { host: string; index: number; since: string; usd_per_hour: number } };

// One in-process bus for the live stream: the poller and status writers publish, each SSE
// client subscribes. On globalThis so dev hot reload keeps a single bus.
const g = globalThis as typeof globalThis & { __afsBus?: EventEmitter; __afsStreamsClosed?: boolean };
const bus = (g.__afsBus ??= new EventEmitter().setMaxListeners(0));

export function publishEvent(event: LiveEvent) {
  bus.emit("event", event);
}

export function subscribeEvents(listener: (event: LiveEvent) => void): () => void {
  bus.on("event", listener);
  return () => bus.off("event", listener);
}

export function listenerCount(): number {
  return bus.listenerCount("event");
}

// Ends every open live stream and refuses new ones: Next's graceful shutdown waits for open
// connections, and an event stream (which browsers reopen by themselves) would otherwise hold
// the server up forever.
export function closeLiveStreams() {
  g.__afsStreamsClosed = true;
  bus.emit("close");
}

export function liveStreamsClosed(): boolean {
  return g.__afsStreamsClosed === true;
}

export function onLiveStreamsClose(listener: () => void): () => void {
  bus.on("close", listener);
  return () => bus.off("close", listener);
}
