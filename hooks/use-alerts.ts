import useSWR from "swr";
import type { AlertsResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// Faster than the dashboard's interval: a firing alert is what someone opens the page for.
const ALERTS_REFRESH_MS = 10_000;

// GET /api/alerts: firing alerts first, then those of the last 24 h, with each channel's delivery.
export function useAlerts() {
  return useSWR<AlertsResponse, FetchError>(KEYS.alerts, { refreshInterval: ALERTS_REFRESH_MS });
}
