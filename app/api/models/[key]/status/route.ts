import { z } from "zod";
import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { findModel } from "@/lib/models";
import { getState } from "@/lib/state/live-state";

// GET /api/models/{key}/status - one model's status, cost and data counts
export const GET = route<{ key: string }>(async ({ req, params }) => {
  const key = z.string().parse(params.key);
  const snapshot = await getState();
  const model = findModel(snapshot.models, key);
  return prepared(req, { version: snapshot, key: `model:${key}`, build: () => model });
});
