import { z } from "zod";
import { parseQuery, route } from "@/lib/api/route";
import { getScalars } from "@/lib/metrics";

const querySchema = z.object({
  tag: z.string().min(1),
  points: z.coerce.number().int().min(2).max(100_000).default(1000),
});

// GET /api/models/{key}/scalars?tag=&points= - any scalar series of a model's run by its raw tag
export const GET = route<{ key: string }>(async ({ req, params }) => {
  const key = z.string().parse(params.key);
  return Response.json(await getScalars({ key, ...parseQuery(req, querySchema) }));
});
