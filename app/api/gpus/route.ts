import { route } from "@/lib/api/route";
import { getGpuSnapshot } from "@/lib/gpu/poller";

// GET /api/gpus - the newest reading of every GPU, with the processes holding its memory
export const GET = route(async () => Response.json(getGpuSnapshot()));
