import { route } from "@/lib/api/route";
import type { GpuUtilizationResponse } from "@/lib/schemas/api";

// GET /api/metrics/gpu-utilization - GPU history; empty with source "none" until the poller lands
export const GET = route(async () =>
  Response.json({ metrics: [], current_utilization: null, source: "none" } satisfies GpuUtilizationResponse),
);
