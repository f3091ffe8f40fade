import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { exportJson } from "@/lib/export";
import { getState } from "@/lib/state/live-state";

// GET /api/export/json - session, models, costs and evaluations in one download
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  return prepared(req, {
    version: snapshot,
    key: "json",
    headers: { "Content-Disposition": 'attachment; filename="afs-export.json"' },
    build: () => exportJson(snapshot),
  });
});
