import { route } from "@/lib/api/route";
import { getHealth } from "@/lib/health";

// GET /api/health - liveness, version, where the data and the store are, and data-dir warnings
export const GET = route(async () => {
  const health = await getHealth();
  return Response.json(health, { status: health.status === "unhealthy" ? 503 : 200 });
});
