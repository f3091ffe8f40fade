import { z } from "zod";
import { parseQuery, route } from "@/lib/api/route";
import { getGpuUtilization } from "@/lib/metrics";
import { hostNameSchema, LOCAL_HOST } from "@/lib/schemas/config";
import { DEFAULT_TIME_RANGE, timeRangeSchema } from "@/lib/schemas/time-range";

const querySchema = z.object({
  host: hostNameSchema.default(LOCAL_HOST),
  range: timeRangeSchema.default(DEFAULT_TIME_RANGE),
  gpu: z.coerce.number().int().nonnegative().optional(),
  points: z.coerce.number().int().min(4).max(10_000).default(500),
});

// GET /api/metrics/gpu-utilization?host=&range=&gpu=&points= - one host's GPU history, downsampled keeping peaks
export const GET = route(async ({ req }) => Response.json(await getGpuUtilization(parseQuery(req, querySchema))));
