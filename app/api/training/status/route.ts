import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { getState } from "@/lib/state/live-state";
import { summarizeTraining } from "@/lib/training";

// GET /api/training/status - session totals: cost, models by status, estimated completion
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: "training", build: () => summarizeTraining(snapshot) });
});
