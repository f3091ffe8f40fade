import { route } from "@/lib/api/route";
import { getTrainingStatus } from "@/lib/training";

// GET /api/training/status - session totals: cost, models by status, estimated completion
export const GET = route(async () => Response.json(await getTrainingStatus()));
