import useSWR from "swr";
import type { ThroughputResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/metrics/throughput: samples/s and tokens/s by step, every model.
export function useThroughput() {
  return useSWR<ThroughputResponse, FetchError>(KEYS.throughput);
}
