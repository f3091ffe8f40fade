import useSWR from "swr";
import type { BillingInstancesResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/billing/instances: the vast.ai instances as last polled and what each accrued.
export function useBilling() {
  return useSWR<BillingInstancesResponse, FetchError>(KEYS.billing);
}
