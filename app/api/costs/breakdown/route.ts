import { route } from "@/lib/api/route";
import { getCostBreakdown } from "@/lib/costs";

// GET /api/costs/breakdown - cost per model, its share, the hour-weighted rate and the budget left
export const GET = route(async () => Response.json(await getCostBreakdown()));
