import { useEffect, useRef, useState } from "react";
import { useSWRConfig } from "swr";
import {
  gpuEventSchema,
  modelStatusSchema,
  type GpuSnapshot,
  type GpuUtilizationResponse,
  type ModelsStatusResponse,
} from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { TIME_RANGES, type TimeRange } from "@/lib/schemas/time-range";
import { appendGpuSnapshot } from "@/lib/swr/gpu-history";
import { KEYS, STREAM_URL } from "@/lib/swr/keys";

// After the stream answers with an HTTP error (a server without /api/stream), pages in this
// tab stop asking for a while and rely on polling alone.
const RETRY_AFTER_MS = 5 * 60_000;
let unavailableUntil = 0;

// An event's JSON checked against its schema; anything else is dropped (polling still runs).
function parseData<T>(schema: { safeParse: (v: unknown) => { success: true; data: T } | { success: false } }, text: string): T | null {
  try {
    const parsed = schema.safeParse(JSON.parse(text));
    return parsed.success ? parsed.data : null;
  } catch {
    return null;
  }
}

// Live updates from GET /api/stream (Server-Sent Events) written into the SWR cache:
// `host`'s `gpu` samples are appended to its GPU history of `range` (other hosts' are skipped),
// a `status` event replaces that model's row and refreshes the totals. `live` is true while the
// stream is open; whenever it is not (missing, failed, reconnecting) the hooks keep polling, so
// nothing is lost silently. `gpuStatus` is the GPU source's state in `host`'s latest `gpu` event
// (null before the first).
export function useLiveStream({ range, host = LOCAL_HOST }: { range: TimeRange; host?: string }) {
  const { mutate, cache } = useSWRConfig();
  const [live, setLive] = useState(false);
  // Set on every sample; an unchanged one does not re-render. Kept with its host, so a switch to
  // another host reads null until that host's first sample.
  const [gpu, setGpu] = useState<{ host: string; status: GpuSnapshot["status"] } | null>(null);
  const latest = useRef({ range, host, mutate });
  useEffect(() => {
    latest.current = { range, host, mutate };
  });

  useEffect(() => {
    if (typeof EventSource === "undefined" || Date.now() < unavailableUntil) return;
    const source = new EventSource(STREAM_URL);
    source.onopen = () => setLive(true);
    source.onerror = () => {
      setLive(false);
      // CLOSED: the server refused (404, 500, not an event stream); CONNECTING: the browser retries.
      if (source.readyState === EventSource.CLOSED) {
        unavailableUntil = Date.now() + RETRY_AFTER_MS;
        source.close();
      }
    };
    source.addEventListener("gpu", (event) => {
      const snapshot = parseData(gpuEventSchema, (event as MessageEvent<string>).data);
      const { range: r, host: h, mutate: m } = latest.current;
      if (!snapshot || snapshot.host !== h) return;
      setGpu((prev) => (prev?.host === h && prev.status === snapshot.status ? prev : { host: h, status: snapshot.status }));
      const key = KEYS.gpu(r, h);
      // Only onto an answer already here: SWR drops an answer whose request was out when the
      // key was mutated, and a host's first history would then wait for the next re-sync.
      if (cache.get(key)?.data === undefined) return;
      void m<GpuUtilizationResponse>(key, (current) => (current ? appendGpuSnapshot(current, snapshot, TIME_RANGES[r]) : current), {
        revalidate: false,
      });
    });
    source.addEventListener("status", (event) => {
      const status = parseData(modelStatusSchema, (event as MessageEvent<string>).data);
      if (!status) return;
      const { mutate: m } = latest.current;
      void m<ModelsStatusResponse>(
        KEYS.modelsStatus,
        (current) =>
          current && { ...current, models: current.models.map((x) => (x.key === status.key ? status : x)), timestamp: new Date().toISOString() },
        { revalidate: false },
      );
      // Totals and costs derive from every model: ask for them again.
      void m(KEYS.trainingStatus);
      void m(KEYS.costs);
    });
    return () => {
      source.close();
      setLive(false);
    };
  }, []);

  return { live, gpuStatus: gpu?.host === host ? gpu.status : null };
}
