import type { ModelRun } from "@/lib/runs/model-run";
import type { ModelStatusValue } from "@/lib/schemas/config";
import { round } from "@/lib/numbers";

export type RunVerdict = {
  // A status to record, when the run's data says something other than the current status.
  change: { status: ModelStatusValue; progress: number } | null;
  // The run's own progress, when it is newer than any posted update; null to keep the status's.
  progress: number | null;
  // The newest record's time while a running model's unfinished run has stopped writing.
  stalled_since: number | null;
  // Every record predates the dashboard's first sight of the run by more than staleMs: a run
  // copied in after the fact, whose time was not spent while the dashboard watched.
  old: boolean;
};

// What a model's run files say about it. Run data newer than the newest posted update moves the
// status (updates recorded from the run only mirror it): `completed` once the run reaches its end or writes its final summary, `running`
// while the newest record is fresher than staleMs. The run's progress is shown unless a status
// was posted after its newest record. A running model whose unfinished run stopped writing is
// stalled: the status stays, and stalled_since says since when.
export function judgeRun(input: {
  run: Pick<ModelRun, "progress" | "completed" | "last_record_at">;
  current: { status: ModelStatusValue; progress: number };
  lastPostedAt: string | null;
  runSeenAt: string | null;
  now: number;
  staleMs: number;
}): RunVerdict {
  const { run, current, lastPostedAt, runSeenAt, now, staleMs } = input;
  const lastRecord = run.last_record_at;
  if (lastRecord === null) return { change: null, progress: null, stalled_since: null, old: false };
  const fresh = now - lastRecord < staleMs;
  const old = runSeenAt !== null && lastRecord < Date.parse(runSeenAt) - staleMs;
  const runProgress = run.progress ? round(run.progress.percent, 2) : run.completed ? 100 : null;
  const newer = lastPostedAt === null || lastRecord > Date.parse(lastPostedAt);
  let change: RunVerdict["change"] = null;
  if (newer && (run.completed || fresh)) {
    const next = { status: run.completed ? ("completed" as const) : ("running" as const), progress: runProgress ?? current.progress };
    if (next.status !== current.status || next.progress !== current.progress) change = next;
  }
  const status = change?.status ?? current.status;
  return {
    change,
    progress: newer ? runProgress : null,
    stalled_since: status === "running" && !run.completed && !fresh ? lastRecord : null,
    old,
  };
}

// The run's earliest record time across its files; null when no record has a time.
export function runStart(run: Pick<ModelRun, "files">): number | null {
  const firsts = run.files.map((f) => f.first_time).filter((t): t is number => t !== null);
  return firsts.length ? firsts.reduce((a, b) => Math.min(a, b)) : null;
}

// The run's own wall time, first record to last, across its files.
export function runWallHours(run: Pick<ModelRun, "files">): number {
  const start = runStart(run);
  const lasts = run.files.map((f) => f.last_time).filter((t): t is number => t !== null);
  if (start === null || !lasts.length) return 0;
  return Math.max(0, lasts.reduce((a, b) => Math.max(a, b)) - start) / 3_600_000;
}
