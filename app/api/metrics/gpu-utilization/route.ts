import { z } from "zod";
import { parseQuery, route } from "@/lib/api/route";
import { getGpuUtilization, TIME_RANGES, type TimeRange } from "@/lib/metrics";

const querySchema = z.object({
  range: z.enum(Object.keys(TIME_RANGES) as [TimeRange, ...TimeRange[]]).default("1h"),
  gpu: z.coerce.number().int().nonnegative().optional(),
  points: z.coerce.number().int().min(4).max(10_000).default(500),
});

// GET /api/metrics/gpu-utilization?range=&gpu=&points= - GPU history, downsampled keeping peaks
export const GET = route(async ({ req }) => Response.json(await getGpuUtilization(parseQuery(req, querySchema))));
