import "server-only";
import path from "node:path";
import { appendAll, describeError } from "@/lib/errors";
import { tailEventFile } from "./event-file";
import { tailJsonlLog } from "./jsonl-log";
import { scanRunDir, type RunFile, type RunFileKind } from "./scan";
import { forgetTails, type TaggedPoint } from "./tail";
import { SERIES_NAMES, type SeriesName } from "@/lib/schemas/series";
import { mapInBatches, slicer, SLICE_ITEMS, type Pause } from "@/lib/slices";
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
  // Per series, where its values went NaN or infinite (a diverged run): the first such step and
  // how many. Those points are kept in `scalars` and left out of `series`, whose charts mark them.
  non_finite: Partial<Record<SeriesName, { first_step: number; count: number }>>;
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
  non_finite: {},
  warnings: [],
};

// Where sources disagree on a tag at a step, the lower rank wins.
const SOURCE_RANK: Record<RunFileKind, number> = { events: 0, trainer_state: 1, jsonl: 2 };

const PARALLEL_READS = 8;

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
  for (const read of await mapInBatches(scan.files, PARALLEL_READS, (file) => readSource({ file, dataDir }))) {
    appendAll(warnings, read.warnings);
    if (read.source) sources.push(read.source);
  }
  forgetTails({ dir: scan.root + path.sep, keep: new Set(scan.files.map((f) => f.path)) });

  const memoKey = JSON.stringify([scan.root, aliases ?? null]);
  const previous = memo.get(memoKey);
  if (previous && previous.warnings === warnings.join("\n") && sameSources(previous.sources, sources)) return previous.run;
  const run = await mergeRun({ sources, warnings, aliases });
  memo.set(memoKey, { sources, warnings: warnings.join("\n"), run });
  return run;
}

async function readSource({ file, dataDir }: { file: RunFile; dataDir: string }): Promise<{ source: Source | null; warnings: string[] }> {
  const name = file.relative_path;
  const warnings: string[] = [];
  if (file.kind === "trainer_state") {
    const state = await readTrainerState({ path: file.path, dataDir });
    if (state.warning) warnings.push(`${name}: ${state.warning}`);
    const source = {
      name,
      kind: file.kind,
      size: state.size_bytes,
      mtime_ms: state.mtime_ms,
      points: state.points,
      count: state.points.length,
      summary_step: state.summary_step,
      progress: state.progress,
    };
    return { source, warnings };
  }
  try {
    const tail = file.kind === "events" ? await tailEventFile({ path: file.path, root: dataDir }) : await tailJsonlLog({ path: file.path, root: dataDir });
    const what = file.kind === "events" ? "corrupt record(s)" : "bad line(s)";
    if (tail.skipped) warnings.push(`${name}: skipped ${tail.skipped} ${what}`);
    if (tail.bad_times) warnings.push(`${name}: ${tail.bad_times} record time(s) before 2000 or more than a day ahead; not used`);
    if (tail.halted) warnings.push(`${name}: stopped reading: ${tail.halted}`);
    const source = {
      name,
      kind: file.kind,
      size: tail.size,
      mtime_ms: tail.mtime_ms,
      points: tail.points,
      count: tail.points.length,
      summary_step: null,
      progress: null,
    };
    return { source, warnings };
  } catch (error) {
    return { source: null, warnings: [`${name}: could not read: ${describeError(error)}`] };
  }
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

async function mergeRun({ sources, warnings, aliases }: { sources: Source[]; warnings: string[]; aliases?: Partial<SeriesAliases> }): Promise<ModelRun> {
  const pause = slicer();
  const files: RunFileSummary[] = [];
  for (const source of sources) files.push(await summarizeFile({ source, pause }));
  const progress = sources.find((s) => s.progress)?.progress ?? null;
  const byTag = await groupByTag({ sources, pause });
  const scalars = new Map<string, ScalarPoint[]>();
  for (const tag of [...byTag.keys()].sort()) scalars.set(tag, await mergeRanked({ lists: byTag.get(tag)!, pause }));
  const resolved = resolveAliases({ overrides: aliases });
  const done = progress !== null && progress.percent >= 100;
  const stepTimes = await findStepTimes({ sources, pause });
  const mtimes = sources.map((s) => s.mtime_ms).filter((t) => t > 0);
  const series = {} as Record<SeriesName, ScalarPoint[]>;
  const nonFinite: ModelRun["non_finite"] = {};
  const notes: string[] = [];
  for (const name of SERIES_NAMES) {
    const merged = await mergeSeries({ byTag, tags: resolved[name], pause });
    const bad = merged.filter((p) => !Number.isFinite(p.value));
    series[name] = bad.length ? merged.filter((p) => Number.isFinite(p.value)) : merged;
    if (bad.length) {
      nonFinite[name] = { first_step: bad[0].step, count: bad.length };
      notes.push(`${name}: ${bad.length} value(s) NaN or infinite (the run diverged?), first at step ${bad[0].step}`);
    }
  }
  return {
    files,
    scalars,
    series,
    progress,
    completed: done || scalars.has("train_runtime") || scalars.has("train/train_runtime"),
    last_record_at: stepTimes ? stepTimes.last.at : mtimes.length ? mtimes.reduce((a, b) => Math.max(a, b)) : null,
    last_record_approximate: !stepTimes && mtimes.length > 0,
    step_times: stepTimes,
    non_finite: nonFinite,
    warnings: [...warnings, ...notes],
  };
}

async function findStepTimes({ sources, pause }: { sources: Source[]; pause: Pause }): Promise<ModelRun["step_times"]> {
  let first: StepTime | null = null;
  let last: StepTime | null = null;
  for (const { points } of sources) {
    for (let i = 0; i < points.length; i++) {
      if (i % SLICE_ITEMS === 0) await pause();
      const p = points[i];
      if (p.wall_time === null) continue;
      if (!first || p.wall_time < first.at) first = { step: p.step, at: p.wall_time };
      if (!last || p.wall_time > last.at || (p.wall_time === last.at && p.step > last.step)) last = { step: p.step, at: p.wall_time };
    }
  }
  return first && last ? { first, last } : null;
}

async function summarizeFile({ source, pause }: { source: Source; pause: Pause }): Promise<RunFileSummary> {
  const tags = new Set<string>();
  const summary = { first_step: Infinity, last_step: -Infinity, first_time: Infinity, last_time: -Infinity };
  const { points } = source;
  for (let i = 0; i < points.length; i++) {
    if (i % SLICE_ITEMS === 0) await pause();
    const p = points[i];
    tags.add(p.tag);
    summary.first_step = Math.min(summary.first_step, p.step);
    summary.last_step = Math.max(summary.last_step, p.step);
    if (p.wall_time === null) continue;
    summary.first_time = Math.min(summary.first_time, p.wall_time);
    summary.last_time = Math.max(summary.last_time, p.wall_time);
  }
  const orNull = (x: number) => (Number.isFinite(x) ? x : null);
  return {
    path: source.name,
    kind: source.kind,
    size_bytes: source.size,
    tags: [...tags].sort(),
    first_step: orNull(summary.first_step),
    last_step: orNull(summary.last_step),
    first_time: orNull(summary.first_time),
    last_time: orNull(summary.last_time),
  };
}

// One source's points of one tag, in file order, and whether their steps only increase.
type TagList = { kind: RunFileKind; summary_step: number | null; points: TaggedPoint[]; increasing: boolean };

async function groupByTag({ sources, pause }: { sources: Source[]; pause: Pause }): Promise<Map<string, TagList[]>> {
  const byTag = new Map<string, TagList[]>();
  for (const { kind, points, summary_step: summaryStep } of sources) {
    const mine = new Map<string, TagList>();
    for (let i = 0; i < points.length; i++) {
      if (i % SLICE_ITEMS === 0) await pause();
      const p = points[i];
      let list = mine.get(p.tag);
      if (!list) {
        mine.set(p.tag, (list = { kind, summary_step: summaryStep, points: [], increasing: true }));
        byTag.set(p.tag, [...(byTag.get(p.tag) ?? []), list]);
      }
      const previous = list.points.at(-1);
      if (previous && previous.step >= p.step) list.increasing = false;
      list.points.push(p);
    }
  }
  return byTag;
}

// One series from its alias tags: per step the best-ranked source, then the earliest alias.
// The train_loss in the Trainer's final trainer_state.json row is the run's mean loss, not the
// loss at that step, so it stays out of every series.
function mergeSeries({ byTag, tags, pause }: { byTag: Map<string, TagList[]>; tags: readonly string[]; pause: Pause }): Promise<ScalarPoint[]> {
  const lists: RankedList[] = [];
  tags.forEach((tag, alias) => {
    for (const list of byTag.get(tag) ?? []) {
      const summary = tag === "train_loss" && list.summary_step !== null ? list.summary_step : null;
      const points = summary === null ? list.points : list.points.filter((p) => p.step !== summary);
      lists.push({ ...list, points, rank: SOURCE_RANK[list.kind] * tags.length + alias });
    }
  });
  return mergeRanked({ lists, pause });
}

type RankedList = Pick<TagList, "points" | "increasing"> & { rank?: number; kind: RunFileKind };

// One point per step from several lists: the best-ranked (lower) list, and within a rank the
// latest written (a resumed run's event file supersedes the first attempt's). The common case,
// one list whose steps only increase, is that list itself: no copy of a million points.
async function mergeRanked({ lists, pause }: { lists: RankedList[]; pause: Pause }): Promise<ScalarPoint[]> {
  if (lists.length === 0) return [];
  if (lists.length === 1 && lists[0].increasing) return lists[0].points;
  const best = new Map<number, { point: ScalarPoint; rank: number }>();
  for (const list of lists) {
    const rank = list.rank ?? SOURCE_RANK[list.kind];
    for (let i = 0; i < list.points.length; i++) {
      if (i % SLICE_ITEMS === 0) await pause();
      const point = list.points[i];
      const current = best.get(point.step);
      const later = (point.wall_time ?? -Infinity) >= (current?.point.wall_time ?? -Infinity);
      if (!current || rank < current.rank || (rank === current.rank && later)) best.set(point.step, { point, rank });
    }
  }
  await pause();
  const merged: ScalarPoint[] = [];
  for (const { point } of best.values()) merged.push(point);
  return merged.sort((a, b) => a.step - b.step);
}
