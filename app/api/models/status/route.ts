import { route } from "@/lib/api/route";
import { getSnapshot } from "@/lib/models";

// GET /api/models/status - every model's status, cost and data counts
export const GET = route(async () => {
  const { models, warnings, now } = await getSnapshot();
  return Response.json({ models, timestamp: new Date(now).toISOString(), warnings });
});
