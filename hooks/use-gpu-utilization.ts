import useSWR from "swr";
import type { GpuUtilizationResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import type { TimeRange } from "@/lib/schemas/time-range";
import { KEYS } from "@/lib/swr/keys";

// While the live stream is open it appends every sample to this cache, so polling slows to a
// re-sync now and then (the server's downsampled history keeps the appended points bounded).
const LIVE_RESYNC_MS = 5 * 60_000;

// GET /api/metrics/gpu-utilization?range=&host=: one host's GPU history over the chosen range;
// polled on the dashboard's interval whenever the live stream is not delivering.
export function useGpuUtilization({ range, host, live = false }: { range: TimeRange; host?: string; live?: boolean }) {
  return useSWR<GpuUtilizationResponse, FetchError>(KEYS.gpu(range, host), live ? { refreshInterval: LIVE_RESYNC_MS } : {});
}
