import useSWR from "swr";
import type { ThroughputResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/metrics/throughput?model=: one model's samples/s and tokens/s by step.
export function useThroughput(model: string | null) {
  return useSWR<ThroughputResponse, FetchError>(model && KEYS.throughput(model));
}
