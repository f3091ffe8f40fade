import type { ModelStatusValue } from "@/lib/schemas/config";

// What the dashboard needs from one model's status history, folded as updates are appended, so
// no read walks the whole history. Pure, so it is tested on plain values.
export type HistoryEntry = { status: ModelStatusValue; progress: number; source: string; at: string };

export type ProgressAt = { at: number; progress: number };

export type HistoryAggregate = {
  latest: HistoryEntry | null;
  // The newest update that was posted rather than recorded from run files.
  latest_posted_at: string | null;
  first_at: string | null;
  // Time spent `running` in closed stretches; the open one accrues until now (hoursRunning).
  running_ms: number;
  // The current running stretch's first and newest points, for the pace of an estimate.
  stretch: { first: ProgressAt; last: ProgressAt } | null;
  // When it first ran, and when it last ended (completed or failed; null while it has not): the
  // window a model is charged its vast.ai instance's cost for.
  first_running_at: string | null;
  ended_at: string | null;
};

export const EMPTY_HISTORY: HistoryAggregate = { latest: null, latest_posted_at: null, first_at: null, running_ms: 0, stretch: null, first_running_at: null, ended_at: null };

const ENDED = new Set(["completed", "failed"]);

const HOUR_MS = 3_600_000;

export function appendHistory(history: HistoryAggregate, entry: HistoryEntry): HistoryAggregate {
  const { latest } = history;
  const point = { at: Date.parse(entry.at), progress: entry.progress };
  const wasRunning = latest?.status === "running";
  return {
    latest: entry,
    latest_posted_at: entry.source === "run" ? history.latest_posted_at : entry.at,
    first_at: history.first_at !== null && history.first_at < entry.at ? history.first_at : entry.at,
    running_ms: history.running_ms + (wasRunning ? Math.max(0, point.at - Date.parse(latest.at)) : 0),
    stretch: entry.status !== "running" ? null : wasRunning && history.stretch ? { first: history.stretch.first, last: point } : { first: point, last: point },
    first_running_at: history.first_running_at ?? (entry.status === "running" ? entry.at : null),
    ended_at: !ENDED.has(entry.status) ? null : latest && ENDED.has(latest.status) ? history.ended_at : entry.at,
  };
}

// Wall hours spent in `running`; the current stretch keeps accruing until `now`.
export function hoursRunning(history: HistoryAggregate, now: number): number {
  const open = history.latest?.status === "running" ? Math.max(0, now - Date.parse(history.latest.at)) : 0;
  return (history.running_ms + open) / HOUR_MS;
}

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
