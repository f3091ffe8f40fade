import type { ModelStatusValue } from "@/lib/schemas/config";

// Pure computations over one model's status history (oldest first), kept apart from I/O so
// they are tested on plain arrays.
export type HistoryEntry = { status: ModelStatusValue; progress: number; at: string };

const HOUR_MS = 3_600_000;

// Wall hours spent in `running`; the current stretch keeps accruing until `now`.
export function hoursRunning(history: HistoryEntry[], now: number): number {
  let ms = 0;
  history.forEach((entry, i) => {
    if (entry.status !== "running") return;
    const end = i + 1 < history.length ? Date.parse(history[i + 1].at) : now;
    ms += Math.max(0, end - Date.parse(entry.at));
  });
  return ms / HOUR_MS;
}

// How long a completed model took: from its first `running` to its first `completed` after it.
export function completedDurationMs(history: HistoryEntry[]): number | null {
  const started = history.find((e) => e.status === "running");
  if (!started) return null;
  const done = history.find((e) => e.status === "completed" && Date.parse(e.at) >= Date.parse(started.at));
  return done ? Date.parse(done.at) - Date.parse(started.at) : null;
}

// When a running model should reach 100 %: from the progress rate of its current running
// stretch when it has two points that moved, else from the mean duration of completed models.
export function estimateFinish(history: HistoryEntry[], meanDurationMs: number | null): number | null {
  const last = history.at(-1);
  if (!last || last.status !== "running") return null;
  let first = history.length - 1;
  while (first > 0 && history[first - 1].status === "running") first--;
  const start = history[first];
  const dt = Date.parse(last.at) - Date.parse(start.at);
  const dp = last.progress - start.progress;
  if (dt > 0 && dp > 0) return Date.parse(last.at) + ((100 - last.progress) / dp) * dt;
  if (meanDurationMs !== null) return Date.parse(last.at) + meanDurationMs * ((100 - last.progress) / 100);
  return null;
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
