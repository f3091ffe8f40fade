import useSWR from "swr";
import type { TrainingLossResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/metrics/training-loss?model=: one model's train and validation loss by step.
export function useTrainingLoss(model: string | null) {
  return useSWR<TrainingLossResponse, FetchError>(model && KEYS.trainingLoss(model));
}

// GET /api/metrics/training-loss?points=2: every model's loss, thinned to tell which have curves.
export function useLossIndex() {
  return useSWR<TrainingLossResponse, FetchError>(KEYS.lossIndex);
}
