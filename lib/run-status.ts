import type { ModelRun } from "@/lib/runs/model-run";
import type { ModelStatusValue } from "@/lib/schemas/config";
import { round } from "@/lib/history";

export type RunVerdict = {
  // A status to record, when the run's data says something other than the current status.
  change: { status: ModelStatusValue; progress: number } | null;
  stalled: boolean;
};

// What a model's run files say about it. Newer run data than the newest recorded update moves
// the status: `completed` once global_step reaches max_steps or a final summary exists,
// `running` while the newest record is fresher than staleMs. A run that is not complete and has
// stopped writing is `stalled`, reported as a warning without changing the status.
export function judgeRun(input: {
  run: Pick<ModelRun, "progress" | "completed" | "last_record_at">;
  current: { status: ModelStatusValue; progress: number };
  lastUpdateAt: string | null;
  now: number;
  staleMs: number;
}): RunVerdict {
  const { run, current, lastUpdateAt, now, staleMs } = input;
  if (run.last_record_at === null) return { change: null, stalled: false };
  const fresh = now - run.last_record_at < staleMs;
  const stalled = !run.completed && !fresh && current.status === "running";
  const newer = lastUpdateAt === null || run.last_record_at > Date.parse(lastUpdateAt);
  if (!newer || (!run.completed && !fresh)) return { change: null, stalled };
  const progress = run.progress
    ? round(Math.min(100, (100 * run.progress.global_step) / run.progress.max_steps), 2)
    : run.completed
      ? 100
      : current.progress;
  const status: ModelStatusValue = run.completed ? "completed" : "running";
  const changed = status !== current.status || progress !== current.progress;
  return { change: changed ? { status, progress } : null, stalled };
}

// The run's own wall time, first record to last, across its files.
export function runWallHours(run: Pick<ModelRun, "files">): number {
  const firsts = run.files.map((f) => f.first_time).filter((t): t is number => t !== null);
  const lasts = run.files.map((f) => f.last_time).filter((t): t is number => t !== null);
  if (!firsts.length || !lasts.length) return 0;
  return Math.max(0, Math.max(...lasts) - Math.min(...firsts)) / 3_600_000;
}
