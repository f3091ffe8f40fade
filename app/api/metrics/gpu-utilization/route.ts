import { z } from "zod";
import { parseQuery, route } from "@/lib/api/route";
import { getGpuUtilization } from "@/lib/metrics";
import { DEFAULT_TIME_RANGE, timeRangeSchema } from "@/lib/schemas/time-range";

const querySchema = z.object({
  range: timeRangeSchema.default(DEFAULT_TIME_RANGE),
  gpu: z.coerce.number().int().nonnegative().optional(),
  points: z.coerce.number().int().min(4).max(10_000).default(500),
});

// GET /api/metrics/gpu-utilization?range=&gpu=&points= - GPU history, downsampled keeping peaks
export const GET = route(async ({ req }) => Response.json(await getGpuUtilization(parseQuery(req, querySchema))));
