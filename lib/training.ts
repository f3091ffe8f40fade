import "server-only";
import { round } from "@/lib/numbers";
import type { Snapshot } from "@/lib/models";
import type { TrainingStatusResponse } from "@/lib/schemas/api";

export function summarizeTraining({ config, models, details, estimate, first_update_at, store_created_at, warnings }: Snapshot): TrainingStatusResponse {
  const count = (...statuses: string[]) => models.filter((m) => statuses.includes(m.status)).length;
  return {
    session_start: config.session.started_at ?? first_update_at ?? store_created_at,
    total_cost: round([...details.values()].reduce((sum, d) => sum + d.total_cost, 0), 4),
    models_completed: count("completed"),
    // Paused models are started and unfinished, so they count as in progress.
    models_in_progress: count("running", "paused"),
    models_pending: count("pending"),
    models_failed: count("failed"),
    budget_usd: config.session.budget_usd ?? null,
    estimated_completion: estimate.at,
    estimate,
    warnings,
  };
}
