import { prepared } from "@/lib/api/prepared";
import { route } from "@/lib/api/route";
import { billingInstances } from "@/lib/billing/view";
import { getState } from "@/lib/state/live-state";

// GET /api/billing/instances - vast.ai's instances as last polled, and what each accrued
export const GET = route(async ({ req }) => {
  const snapshot = await getState();
  return prepared(req, { version: snapshot, key: "billing", build: () => billingInstances(snapshot) });
});
