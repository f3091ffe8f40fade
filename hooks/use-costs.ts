import useSWR from "swr";
import type { CostBreakdownResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/costs/breakdown: cost per model, the total and what is left of the budget.
export function useCosts() {
  return useSWR<CostBreakdownResponse, FetchError>(KEYS.costs);
}
