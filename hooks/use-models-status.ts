import useSWR from "swr";
import type { ModelsStatusResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/models/status: every model's status, progress, cost and data counts.
export function useModelsStatus() {
  return useSWR<ModelsStatusResponse, FetchError>(KEYS.modelsStatus);
}
