import { z } from "zod";
import { prepared } from "@/lib/api/prepared";
import { parseQuery, route } from "@/lib/api/route";
import { getThroughput } from "@/lib/metrics";
import { modelKeySchema } from "@/lib/schemas/config";
import { getState } from "@/lib/state/live-state";

const querySchema = z.object({
  model: modelKeySchema.optional(),
  points: z.coerce.number().int().min(2).max(100_000).default(1000),
});

// GET /api/metrics/throughput?model=&points= - samples/s and tokens/s from run files
export const GET = route(async ({ req }) => {
  const query = parseQuery(req, querySchema);
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: `throughput:${query.model ?? ""}:${query.points}`, build: () => getThroughput(snapshot, query) });
});
