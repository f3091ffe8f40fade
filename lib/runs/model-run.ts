import "server-only";
import path from "node:path";
import { describeError } from "@/lib/errors";
import { tailEventFile } from "./event-file";
import { tailJsonlLog } from "./jsonl-log";
import { scanRunDir, type RunFileKind } from "./scan";
import { forgetTails, type TaggedPoint } from "./tail";
import { SERIES_NAMES, type SeriesName } from "@/lib/schemas/series";
import { resolveAliases, type SeriesAliases } from "./tags";
import { readTrainerState, type Progress } from "./trainer-state";

// Times are ms since the epoch; null where the source has none (trainer_state.json rows).
export type ScalarPoint = { step: number; value: number; wall_time: number | null };

export type RunFileSummary = {
  path: string; // relative to the data dir
  kind: RunFileKind;
  size_bytes: number;
  tags: string[];
  first_step: number | null;
  last_step: number | null;
  first_time: number | null;
  last_time: number | null;
};

// A step and when it was logged.
export type StepTime = { step: number; at: number };

export type ModelRun = {
  files: RunFileSummary[];
  scalars: Map<string, ScalarPoint[]>;
  series: Record<SeriesName, ScalarPoint[]>;
  progress: Progress | null;
  completed: boolean;
  // The newest time written inside the records; a file's mtime only where no record has a time
  // (trainer_state.json, JSONL without time fields), and then `approximate`.
  last_record_at: number | null;
  last_record_approximate: boolean;
  // The earliest and the newest timed record: the run's pace, for estimates.
  step_times: { first: StepTime; last: StepTime } | null;
  warnings: string[];
};

// What a model without a run folder has.
export const EMPTY_RUN: ModelRun = {
  files: [],
  scalars: new Map(),
  series: Object.fromEntries(SERIES_NAMES.map((name) => [name, []])) as unknown as Record<SeriesName, ScalarPoint[]>,
  progress: null,
  completed: false,
  last_record_at: null,
  last_record_approximate: false,
  step_times: null,
  warnings: [],
};

// Where sources disagree on a tag at a step, the lower rank wins.
const SOURCE_RANK: Record<RunFileKind, number> = { events: 0, trainer_state: 1, jsonl: 2 };

type RankedPoint = ScalarPoint & { rank: number };

// One file's contribution as read this call. `points` is the reader's own array, which grows in
// place as the file grows, so `count` is what tells a later call whether it changed.
type Source = {
  name: string;
  kind: RunFileKind;
  size: number;
  mtime_ms: number;
  points: readonly TaggedPoint[];
  count: number;
  summary_step: number | null;
  progress: Progress | null;
};

// The last answer per run folder and options, reused while no file changed: merging is the costly part of a
// poll once the files themselves are read incrementally.
const g = globalThis as typeof globalThis & {
  __afsModelRuns?: Map<string, { sources: Source[]; warnings: string; run: ModelRun }>;
};
const memo = (g.__afsModelRuns ??= new Map());

// Training curves and progress of runs/<key>/ from its TensorBoard event files,
// trainer_state.json and JSONL logs. Event files and logs are read incrementally across calls,
// and an unchanged run returns the previous answer, so treat the result as read-only. Never
// throws on bad data: problems come back in `warnings`, each naming its file. Every point is
// kept; answers downsample.
export async function readModelRun({
  dataDir,
  key,
  aliases,
}: {
  dataDir: string;
  key: string;
  aliases?: Partial<SeriesAliases>;
}): Promise<ModelRun> {
  const scan = await scanRunDir({ dataDir, key });
  const warnings = [...scan.warnings];
  const sources: Source[] = [];
  for (const file of scan.files) {
    const name = file.relative_path;
    if (file.kind === "trainer_state") {
      const state = await readTrainerState({ path: file.path, dataDir });
      if (state.warning) warnings.push(`${name}: ${state.warning}`);
      sources.push({
        name,
        kind: file.kind,
        size: state.size_bytes,
        mtime_ms: state.mtime_ms,
        points: state.points,
        count: state.points.length,
        summary_step: state.summary_step,
        progress: state.progress,
      });
      continue;
    }
    try {
      const tail = file.kind === "events" ? await tailEventFile({ path: file.path }) : await tailJsonlLog({ path: file.path });
      const what = file.kind === "events" ? "corrupt record(s)" : "bad line(s)";
      if (tail.skipped) warnings.push(`${name}: skipped ${tail.skipped} ${what}`);
      if (tail.bad_times) warnings.push(`${name}: ${tail.bad_times} record time(s) before 2000 or more than a day ahead; not used`);
      if (tail.halted) warnings.push(`${name}: stopped reading: ${tail.halted}`);
      sources.push({
        name,
        kind: file.kind,
        size: tail.size,
        mtime_ms: tail.mtime_ms,
        points: tail.points,
        count: tail.points.length,
        summary_step: null,
        progress: null,
      });
    } catch (error) {
      warnings.push(`${name}: could not read: ${describeError(error)}`);
    }
  }
  forgetTails({ dir: scan.root + path.sep, keep: new Set(scan.files.map((f) => f.path)) });

  const memoKey = JSON.stringify([scan.root, aliases ?? null]);
  const previous = memo.get(memoKey);
  if (previous && previous.warnings === warnings.join("\n") && sameSources(previous.sources, sources)) return previous.run;
  const run = mergeRun({ sources, warnings, aliases });
  memo.set(memoKey, { sources, warnings: warnings.join("\n"), run });
  return run;
}

function sameSources(a: Source[], b: Source[]): boolean {
  return (
    a.length === b.length &&
    a.every(
      (s, i) =>
        s.name === b[i].name && s.points === b[i].points && s.count === b[i].count && s.size === b[i].size && s.mtime_ms === b[i].mtime_ms,
    )
  );
}

function mergeRun({ sources, warnings, aliases }: { sources: Source[]; warnings: string[]; aliases?: Partial<SeriesAliases> }): ModelRun {
  const files = sources.map((source) => summarizeFile({ source }));
  const progress = sources.find((s) => s.progress)?.progress ?? null;
  const scalars = mergeScalars({ sources });
  const resolved = resolveAliases({ overrides: aliases });
  const done = progress !== null && progress.percent >= 100;
  const stepTimes = findStepTimes({ sources });
  const mtimes = sources.map((s) => s.mtime_ms).filter((t) => t > 0);
  return {
    files,
    scalars,
    series: Object.fromEntries(SERIES_NAMES.map((name) => [name, mergeSeries({ sources, tags: resolved[name] })])) as Record<SeriesName, ScalarPoint[]>,
    progress,
    completed: done || scalars.has("train_runtime") || scalars.has("train/train_runtime"),
    last_record_at: stepTimes ? stepTimes.last.at : mtimes.length ? mtimes.reduce((a, b) => Math.max(a, b)) : null,
    last_record_approximate: !stepTimes && mtimes.length > 0,
    step_times: stepTimes,
    warnings,
  };
}

function findStepTimes({ sources }: { sources: Source[] }): ModelRun["step_times"] {
  let first: StepTime | null = null;
  let last: StepTime | null = null;
  for (const { points } of sources) {
    for (const p of points) {
      if (p.wall_time === null) continue;
      if (!first || p.wall_time < first.at) first = { step: p.step, at: p.wall_time };
      if (!last || p.wall_time > last.at || (p.wall_time === last.at && p.step > last.step)) last = { step: p.step, at: p.wall_time };
    }
  }
  return first && last ? { first, last } : null;
}

function summarizeFile({ source }: { source: Source }): RunFileSummary {
  const tags = new Set<string>();
  const steps: number[] = [];
  const times: number[] = [];
  for (const p of source.points) {
    tags.add(p.tag);
    steps.push(p.step);
    if (p.wall_time !== null) times.push(p.wall_time);
  }
  const min = (xs: number[]) => (xs.length ? xs.reduce((a, b) => Math.min(a, b)) : null);
  const max = (xs: number[]) => (xs.length ? xs.reduce((a, b) => Math.max(a, b)) : null);
  return {
    path: source.name,
    kind: source.kind,
    size_bytes: source.size,
    tags: [...tags].sort(),
    first_step: min(steps),
    last_step: max(steps),
    first_time: min(times),
    last_time: max(times),
  };
}

// One point per (tag, step): the best-ranked source, and within it the latest written (a resumed
// run's event file supersedes the first attempt's).
function mergeScalars({ sources }: { sources: Source[] }): Map<string, ScalarPoint[]> {
  const byTag = new Map<string, Map<number, RankedPoint>>();
  for (const { kind, points } of sources) {
    for (const p of points) {
      let steps = byTag.get(p.tag);
      if (!steps) byTag.set(p.tag, (steps = new Map()));
      keepBetter({ steps, candidate: { step: p.step, value: p.value, wall_time: p.wall_time, rank: SOURCE_RANK[kind] } });
    }
  }
  return new Map([...byTag].sort(([a], [b]) => a.localeCompare(b)).map(([tag, steps]) => [tag, sortedPoints({ steps })]));
}

// One series from its alias tags: per step the best-ranked source, then the earliest alias.
// The train_loss in the Trainer's final trainer_state.json row is the run's mean loss, not the
// loss at that step, so it stays out of every series.
function mergeSeries({ sources, tags }: { sources: Source[]; tags: readonly string[] }): ScalarPoint[] {
  const aliasRank = new Map(tags.map((tag, i) => [tag, i]));
  const steps = new Map<number, RankedPoint>();
  for (const { kind, points, summary_step: summaryStep } of sources) {
    for (const p of points) {
      const alias = aliasRank.get(p.tag);
      if (alias === undefined || (p.tag === "train_loss" && p.step === summaryStep)) continue;
      const rank = SOURCE_RANK[kind] * tags.length + alias;
      keepBetter({ steps, candidate: { step: p.step, value: p.value, wall_time: p.wall_time, rank } });
    }
  }
  return sortedPoints({ steps });
}

function keepBetter({ steps, candidate }: { steps: Map<number, RankedPoint>; candidate: RankedPoint }): void {
  const current = steps.get(candidate.step);
  const later = (candidate.wall_time ?? -Infinity) >= (current?.wall_time ?? -Infinity);
  if (!current || candidate.rank < current.rank || (candidate.rank === current.rank && later)) {
    steps.set(candidate.step, candidate);
  }
}

function sortedPoints({ steps }: { steps: Map<number, RankedPoint> }): ScalarPoint[] {
  return [...steps.values()]
    .sort((a, b) => a.step - b.step)
    .map(({ step, value, wall_time }) => ({ step, value, wall_time }));
}
