import { z } from "zod";

// The windows of GPU history: the API's ?range=, the dashboard's picker and the live stream's
// trimming all read these.
export const timeRangeSchema = z.enum(["15m", "1h", "6h", "24h", "7d", "30d"]);
export type TimeRange = z.infer<typeof timeRangeSchema>;

export const DEFAULT_TIME_RANGE: TimeRange = "1h";

// How far back each range reaches, in ms.
export const TIME_RANGES: Record<TimeRange, number> = {
  "15m": 15 * 60_000,
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
  "30d": 30 * 86_400_000,
};

export const TIME_RANGE_LABELS: Record<TimeRange, string> = {
  "15m": "15 minutes",
  "1h": "1 hour",
  "6h": "6 hours",
  "24h": "24 hours",
  "7d": "7 days",
  "30d": "30 days",
};

// The dashboard offers up to 7 days; 30 days is there for the API's callers.
export const DASHBOARD_TIME_RANGES: readonly TimeRange[] = ["15m", "1h", "6h", "24h", "7d"];

// The dashboard's ?range= as one of its ranges; anything else is the default.
export function parseTimeRange(value: string | string[] | undefined | null): TimeRange {
  return DASHBOARD_TIME_RANGES.find((r) => r === value) ?? DEFAULT_TIME_RANGE;
}
