import { z } from "zod";
import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { getModelRuns } from "@/lib/metrics";
import { getState } from "@/lib/state/live-state";

// GET /api/models/{key}/runs - the run files found for a model: sizes, tags, steps, times, warnings
export const GET = route<{ key: string }>(async ({ req, params }) => {
  const key = z.string().parse(params.key);
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: `runs:${key}`, build: () => getModelRuns(snapshot, { key }) });
});
