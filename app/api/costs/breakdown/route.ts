import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { summarizeCosts } from "@/lib/costs";
import { getState } from "@/lib/state/live-state";

// GET /api/costs/breakdown - cost per model, its share, the hour-weighted rate and the budget left
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: "costs", build: () => summarizeCosts(snapshot) });
});
