import useSWR from "swr";
import type { TrainingLossResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/metrics/training-loss: train and validation loss by step, every model.
export function useTrainingLoss() {
  return useSWR<TrainingLossResponse, FetchError>(KEYS.trainingLoss);
}
