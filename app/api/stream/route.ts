import { route } from "@/lib/api/route";
import { openEventStream } from "@/lib/stream";

// GET /api/stream - Server-Sent Events: `gpu` per sample, `status` per model status change
export const GET = route(async ({ req }) => openEventStream({ signal: req.signal }));
