import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { summarizeRegistry } from "@/lib/registry";
import { getState } from "@/lib/state/live-state";

// GET /api/models/registry - every model with its artifact files and their download URLs
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: "registry", build: () => summarizeRegistry(snapshot) });
});
