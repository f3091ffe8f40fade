import "server-only";
import { completedDurationMs, estimateFinish, round } from "@/lib/history";
import { getSnapshot, type Snapshot } from "@/lib/models";
import type { TrainingStatusResponse } from "@/lib/schemas/api";
import { getStoreCreatedAt } from "@/lib/store/db";

export async function getTrainingStatus(): Promise<TrainingStatusResponse> {
  return summarizeTraining(await getSnapshot());
}

export function summarizeTraining({ config, models, histories, warnings }: Snapshot): TrainingStatusResponse {
  const count = (...statuses: string[]) => models.filter((m) => statuses.includes(m.status)).length;
  const firstUpdate = [...histories.values()].flat().reduce<string | null>((min, e) => (!min || e.at < min ? e.at : min), null);
  return {
    session_start: config.session.started_at ?? firstUpdate ?? getStoreCreatedAt(),
    total_cost: round(models.reduce((sum, m) => sum + m.total_cost, 0), 4),
    models_completed: count("completed"),
    // Paused models are started and unfinished, so they count as in progress.
    models_in_progress: count("running", "paused"),
    models_pending: count("pending"),
    models_failed: count("failed"),
    budget_usd: config.session.budget_usd ?? null,
    estimated_completion: estimateCompletion({ models, histories }),
    warnings,
  };
}

// The latest finish among running models (see estimateFinish); null when none can be estimated.
function estimateCompletion({ models, histories }: Pick<Snapshot, "models" | "histories">): string | null {
  const durations = models
    .filter((m) => m.status === "completed")
    .map((m) => completedDurationMs(histories.get(m.key) ?? []))
    .filter((d): d is number => d !== null);
  const meanDuration = durations.length ? durations.reduce((a, b) => a + b, 0) / durations.length : null;
  const finishes = models
    .filter((m) => m.status === "running")
    .map((m) => estimateFinish(histories.get(m.key) ?? [], meanDuration))
    .filter((t): t is number => t !== null);
  return finishes.length ? new Date(Math.max(...finishes)).toISOString() : null;
}
