import { route } from "@/lib/api/route";
import type { TrainingLossResponse } from "@/lib/schemas/api";

// GET /api/metrics/training-loss - loss curves; empty with source "none" until run reading lands
export const GET = route(async () => Response.json({ metrics: [], source: "none" } satisfies TrainingLossResponse));
