import type { ModelStatusValue } from "@/lib/schemas/config";

// Pure computations over one model's status history (oldest first), kept apart from I/O so
// they are tested on plain arrays.
export type HistoryEntry = { status: ModelStatusValue; progress: number; source: string; at: string };

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

export type ProgressAt = { at: number; progress: number };

// A pace is trusted only over at least this long and this much progress: two updates 0.2 s and
// half a point apart say nothing about when a run ends.
export const MIN_PACE_MS = 60_000;
export const MIN_PACE_POINTS = 1;

// When progress reaches 100 % at the pace from `first` to `last`; null when that stretch is too
// short to trust.
export function finishAtPace(first: ProgressAt, last: ProgressAt): number | null {
  const dt = last.at - first.at;
  const dp = last.progress - first.progress;
  if (dt < MIN_PACE_MS || dp < MIN_PACE_POINTS) return null;
  return last.at + ((100 - last.progress) / dp) * dt;
}

// The current running stretch of a history: its first and newest entry.
export function runningStretch(history: HistoryEntry[]): { first: ProgressAt; last: ProgressAt } | null {
  const last = history.at(-1);
  if (!last || last.status !== "running") return null;
  let first = history.length - 1;
  while (first > 0 && history[first - 1].status === "running") first--;
  const point = (e: HistoryEntry) => ({ at: Date.parse(e.at), progress: e.progress });
  return { first: point(history[first]), last: point(last) };
}

export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
