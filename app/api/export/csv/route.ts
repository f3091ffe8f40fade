import { route } from "@/lib/api/route";
import { exportCsv } from "@/lib/export";

// GET /api/export/csv - one row per model with every ModelStatus field, as a download
export const GET = route(
  async () =>
    new Response(await exportCsv(), {
      headers: {
        "Content-Type": "text/csv; charset=utf-8",
        "Content-Disposition": 'attachment; filename="afs-models.csv"',
      },
    }),
);
