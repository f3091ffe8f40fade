import { z } from "zod";
import { route } from "@/lib/api/route";
import { getModelRuns } from "@/lib/metrics";

// GET /api/models/{key}/runs - the run files found for a model: sizes, tags, steps, times, warnings
export const GET = route<{ key: string }>(async ({ params }) => {
  const key = z.string().parse(params.key);
  return Response.json(await getModelRuns({ key }));
});
