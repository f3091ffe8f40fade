import { z } from "zod";
import { prepared } from "@/lib/api/prepared";
import { parseQuery, route } from "@/lib/api/route";
import { costTimeline, TIMELINE_RANGES } from "@/lib/billing/view";
import { getState } from "@/lib/state/live-state";

const querySchema = z.object({ range: z.enum(TIMELINE_RANGES).default("24h") });

// GET /api/costs/timeline?range=1h|24h|7d|30d - each model's cumulative spend over time
export const GET = route(async ({ req }) => {
  const query = parseQuery(req, querySchema);
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: `timeline:${query.range}`, build: () => costTimeline(snapshot, query) });
});
