import { route } from "@/lib/api/route";
import { getHealth } from "@/lib/health";

// GET /api/health - liveness, version, where the data and the store are, and data-dir warnings
export const GET = route(async () => Response.json(await getHealth()));
