import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { toCsv } from "@/lib/export";
import { getState } from "@/lib/state/live-state";

// GET /api/export/csv - one row per model with every ModelStatus field, as a download
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  return prepared(req, {
    version: snapshot,
    key: "csv",
    type: "text/csv; charset=utf-8",
    headers: { "Content-Disposition": 'attachment; filename="afs-models.csv"' },
    build: () => toCsv(snapshot.models),
  });
});
