import { z } from "zod";
import { parseQuery, route } from "@/lib/api/route";
import { getTrainingLoss } from "@/lib/metrics";
import { modelKeySchema } from "@/lib/schemas/config";

const querySchema = z.object({
  model: modelKeySchema.optional(),
  points: z.coerce.number().int().min(2).max(100_000).default(1000),
});

// GET /api/metrics/training-loss?model=&points= - train and validation loss from run files
export const GET = route(async ({ req }) => Response.json(await getTrainingLoss(parseQuery(req, querySchema))));
