import { LOCAL_HOST } from "@/lib/schemas/config";
import type { TimeRange } from "@/lib/schemas/time-range";

// SWR keys are the API paths themselves, shared by the server page (which fills the SWR
// fallback under these keys) and the client hooks (which fetch them). No server code here.
export const KEYS = {
  trainingStatus: "/api/training/status",
  modelsStatus: "/api/models/status",
  costs: "/api/costs/breakdown",
  registry: "/api/models/registry",
  // Curves are asked for one model at a time: every model's would be megabytes at 1,000 models.
  trainingLoss: (model: string) => `/api/metrics/training-loss?model=${model}`,
  throughput: (model: string) => `/api/metrics/throughput?model=${model}`,
  // Two points per series and model: enough to tell which models have loss curves.
  lossIndex: "/api/metrics/training-loss?points=2",
  // This machine's key has no ?host=, as before hosts: the server page fills it for the first paint.
  gpu: (range: TimeRange, host: string = LOCAL_HOST) =>
    host === LOCAL_HOST ? `/api/metrics/gpu-utilization?range=${range}` : `/api/metrics/gpu-utilization?range=${range}&host=${encodeURIComponent(host)}`,
  hosts: "/api/hosts",
  billing: "/api/billing/instances",
  alerts: "/api/alerts",
} as const;

export const STREAM_URL = "/api/stream";
export const EXPORT_CSV_URL = "/api/export/csv";
export const EXPORT_JSON_URL = "/api/export/json";
