import { z } from "zod";
import { prepared } from "@/lib/api/prepared";
import { parseQuery, route } from "@/lib/api/route";
import { getTrainingLoss } from "@/lib/metrics";
import { modelKeySchema } from "@/lib/schemas/config";
import { getState } from "@/lib/state/live-state";

const querySchema = z.object({
  model: modelKeySchema.optional(),
  points: z.coerce.number().int().min(2).max(100_000).default(1000),
});

// GET /api/metrics/training-loss?model=&points= - train and validation loss from run files
export const GET = route(async ({ req }) => {
  const query = parseQuery(req, querySchema);
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: `loss:${query.model ?? ""}:${query.points}`, build: () => getTrainingLoss(snapshot, query) });
});
