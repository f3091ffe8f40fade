import { route } from "@/lib/api/route";
import { alertsAnswer } from "@/lib/alerts/view";
import { getState } from "@/lib/state/live-state";

// GET /api/alerts - firing alerts, then those of the last 24 h, with their deliveries
export const GET = route(async () => {
  const snapshot = await getState();
  return Response.json(await alertsAnswer({ now: Date.now(), snapshotWarnings: snapshot.warnings }));
});
