import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { getState } from "@/lib/state/live-state";

// GET /api/models/status - every model's status, cost and data counts
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  const { models, warnings, now } = snapshot;
  return prepared(req, { version: snapshot, key: "models", build: () => ({ models, timestamp: new Date(now).toISOString(), warnings }) });
});
