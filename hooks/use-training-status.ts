import useSWR from "swr";
import type { TrainingStatusResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/training/status: session totals, refreshed on the dashboard's interval.
export function useTrainingStatus() {
  return useSWR<TrainingStatusResponse, FetchError>(KEYS.trainingStatus);
}
