import { route } from "@/lib/api/route";
import { exportJson } from "@/lib/export";

// GET /api/export/json - session, models, costs and evaluations in one download
export const GET = route(async () =>
  Response.json(await exportJson(), {
    headers: { "Content-Disposition": 'attachment; filename="afs-export.json"' },
  }),
);
