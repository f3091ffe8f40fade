import { route } from "@/lib/api/route";
import { listHosts } from "@/lib/hosts/fleet";
import { getState } from "@/lib/state/live-state";

// GET /api/hosts - every host the dashboard reads ("local" first): its state, GPUs and models
export const GET = route(async () => {
  const snapshot = await getState();
  return Response.json({ hosts: listHosts({ snapshot }), timestamp: new Date().toISOString() });
});
