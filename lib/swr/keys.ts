// SWR keys are the API paths themselves, shared by the server page (which fills the SWR
// fallback under these keys) and the client hooks (which fetch them). No server code here.
export const TIME_RANGE_OPTIONS = ["15m", "1h", "6h", "24h", "7d"] as const;
export type TimeRangeOption = (typeof TIME_RANGE_OPTIONS)[number];
export const DEFAULT_RANGE: TimeRangeOption = "1h";

export function parseRange(value: string | string[] | undefined | null): TimeRangeOption {
  return TIME_RANGE_OPTIONS.find((r) => r === value) ?? DEFAULT_RANGE;
}

export const KEYS = {
  trainingStatus: "/api/training/status",
  modelsStatus: "/api/models/status",
  costs: "/api/costs/breakdown",
  registry: "/api/models/registry",
  trainingLoss: "/api/metrics/training-loss",
  throughput: "/api/metrics/throughput",
  gpu: (range: TimeRangeOption) => `/api/metrics/gpu-utilization?range=${range}`,
} as const;

export const STREAM_URL = "/api/stream";
export const EXPORT_CSV_URL = "/api/export/csv";
export const EXPORT_JSON_URL = "/api/export/json";

export const RANGE_MS: Record<TimeRangeOption, number> = {
  "15m": 15 * 60_000,
  "1h": 3_600_000,
  "6h": 6 * 3_600_000,
  "24h": 86_400_000,
  "7d": 7 * 86_400_000,
};
