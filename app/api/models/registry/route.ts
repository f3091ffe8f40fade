import { route } from "@/lib/api/route";
import { getRegistry } from "@/lib/registry";

// GET /api/models/registry - every model with its artifact files and their download URLs
export const GET = route(async () => Response.json(await getRegistry()));
