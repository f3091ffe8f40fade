import { z } from "zod";
import { parseQuery, route } from "@/lib/api/route";
import { getThroughput } from "@/lib/metrics";
import { modelKeySchema } from "@/lib/schemas/config";

const querySchema = z.object({
  model: modelKeySchema.optional(),
  points: z.coerce.number().int().min(2).max(100_000).default(1000),
});

// GET /api/metrics/throughput?model=&points= - samples/s and tokens/s from run files
export const GET = route(async ({ req }) => Response.json(await getThroughput(parseQuery(req, querySchema))));
