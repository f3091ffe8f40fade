import { route } from "@/lib/api/route";
import type { ThroughputResponse } from "@/lib/schemas/api";

// GET /api/metrics/throughput - throughput curves; empty with source "none" until run reading lands
export const GET = route(async () => Response.json({ metrics: [], source: "none" } satisfies ThroughputResponse));
