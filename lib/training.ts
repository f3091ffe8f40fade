import "server-only";
import { finishAtPace, MIN_PACE_MS, MIN_PACE_POINTS, round, runningStretch, type ProgressAt } from "@/lib/history";
import { getSnapshot, type Snapshot } from "@/lib/models";
import type { ModelRun } from "@/lib/runs/model-run";
import type { TrainingStatusResponse } from "@/lib/schemas/api";
import { getStoreCreatedAt } from "@/lib/store/db";

export async function getTrainingStatus(): Promise<TrainingStatusResponse> {
  return summarizeTraining(await getSnapshot());
}

export function summarizeTraining(snapshot: Snapshot): TrainingStatusResponse {
  const { config, models, details, histories, warnings } = snapshot;
  const count = (...statuses: string[]) => models.filter((m) => statuses.includes(m.status)).length;
  const firstUpdate = [...histories.values()].flat().reduce<string | null>((min, e) => (!min || e.at < min ? e.at : min), null);
  const estimate = estimateCompletion(snapshot);
  return {
    session_start: config.session.started_at ?? firstUpdate ?? getStoreCreatedAt(),
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

// Per running model, when it reaches 100 % at its pace: the run's own timed records when its
// progress comes from them, else its current running stretch of status updates. A model without
// a trustworthy pace, or whose expected finish has passed ("overdue"), is listed with the reason
// and left out of `at`, the latest finish among the others; nothing answered is in the past.
function estimateCompletion({ models, details, histories, runs, now }: Snapshot): TrainingStatusResponse["estimate"] {
  const entries = models
    .filter((m) => m.status === "running")
    .map((m) => {
      const pace = details.get(m.key)?.progress_from_run ? runPace(runs.get(m.key)) : runningStretch(histories.get(m.key) ?? []);
      if (!pace) return { key: m.key, at: null, reason: "no progress updates or timed run records yet" };
      const at = finishAtPace(pace.first, pace.last);
      if (at === null) {
        return { key: m.key, at: null, reason: `needs progress of at least ${MIN_PACE_POINTS} point over at least ${MIN_PACE_MS / 1000} s` };
      }
      if (at <= now) return { key: m.key, at: null, reason: `overdue: expected by ${new Date(at).toISOString()}` };
      return { key: m.key, at: new Date(at).toISOString() };
    });
  const times = entries.map((e) => e.at).filter((t): t is string => t !== null);
  return { at: times.length ? times.reduce((a, b) => (a > b ? a : b)) : null, models: entries };
}

function runPace(run: ModelRun | undefined): { first: ProgressAt; last: ProgressAt } | null {
  const maxSteps = run?.progress?.max_steps;
  if (!run?.step_times || !maxSteps) return null;
  const point = ({ step, at }: { step: number; at: number }) => ({ at, progress: Math.min(100, (100 * step) / maxSteps) });
  return { first: point(run.step_times.first), last: point(run.step_times.last) };
}
