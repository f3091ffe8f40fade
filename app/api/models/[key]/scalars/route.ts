import { z } from "zod";
import { prepared } from "@/lib/api/prepared";
import { parseQuery, route } from "@/lib/api/route";
import { getScalars } from "@/lib/metrics";
import { getState } from "@/lib/state/live-state";

const querySchema = z.object({
  tag: z.string().min(1),
  points: z.coerce.number().int().min(2).max(100_000).default(1000),
});

// GET /api/models/{key}/scalars?tag=&points= - any scalar series of a model's run by its raw tag
export const GET = route<{ key: string }>(async ({ req, params }) => {
  const key = z.string().parse(params.key);
  const query = parseQuery(req, querySchema);
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: `scalars:${key}:${query.tag}:${query.points}`, build: () => getScalars(snapshot, { key, ...query }) });
});
