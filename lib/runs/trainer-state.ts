import "server-only";
import { z } from "zod";
import { readCached } from "@/lib/data/file-cache";
import { duplicateKeys, parseJsonSliced, type JsonResult } from "@/lib/data/json";
import { describeError } from "@/lib/errors";
import type { TaggedPoint } from "./tail";

// How far a run is: percent from global_step / max_steps, else epoch / num_train_epochs.
export type Progress = {
  global_step: number | null;
  max_steps: number | null;
  epoch: number | null;
  num_train_epochs: number | null;
  percent: number;
};

export type TrainerState = {
  // log_history as points: every number in a row is a tag at the row's step (no times).
  points: TaggedPoint[];
  progress: Progress | null;
  // Step of the row the Trainer writes once training has finished (train_runtime, the run's
  // mean train_loss, ...), null while it has not.
  summary_step: number | null;
  mtime_ms: number;
  size_bytes: number;
  warning: string | null;
};

const finite = z.number().refine(Number.isFinite);
const trainerStateSchema = z.object({
  global_step: finite.optional(),
  max_steps: finite.optional(),
  epoch: finite.nullish(),
  num_train_epochs: finite.optional(),
  log_history: z.array(z.unknown()).default([]),
});

// The last state that parsed, per path: the Trainer rewrites the file in place, and a read
// caught mid-write must not blank the curves.
const g = globalThis as typeof globalThis & { __afsLastTrainerStates?: Map<string, TrainerState> };
const lastGood = (g.__afsLastTrainerStates ??= new Map());

// HuggingFace's trainer_state.json, cached until its size or mtime changes. Never throws: an
// unreadable or malformed file comes back as the last good read (or empty) with a warning
// (without the file's name).
export async function readTrainerState({ path, dataDir }: { path: string; dataDir: string }): Promise<TrainerState> {
  let state: TrainerState;
  try {
    state = await readCached({ path, loader: "runs-trainer-state", root: dataDir }, async (text, stat) => {
      const base = { mtime_ms: stat.mtimeMs, size_bytes: stat.size };
      const json = await parseJsonSliced({ text, lenient: true });
      if (!json.ok) return { ...emptyState(), ...base, warning: `invalid JSON (${json.error})` };
      const parsed = trainerStateSchema.safeParse(json.value);
      if (!parsed.success || duplicateKeys(json, json.value).length) return { ...emptyState(), ...base, warning: "not a trainer_state.json (bad or duplicated fields)" };
      return { ...parseTrainerState({ state: parsed.data, json }), ...base };
    });
  } catch (error) {
    state = { ...emptyState(), warning: `could not read: ${describeError(error)}` };
  }
  if (state.progress !== null || state.points.length > 0) {
    lastGood.set(path, state);
    return state;
  }
  const previous = lastGood.get(path);
  if (!previous || !state.warning) return state;
  return { ...previous, mtime_ms: state.mtime_ms || previous.mtime_ms, warning: `${state.warning}; showing the last good read` };
}

function parseTrainerState({ state, json }: { state: z.infer<typeof trainerStateSchema>; json: Extract<JsonResult, { ok: true }> }): TrainerState {
  const points: TaggedPoint[] = [];
  let skipped = 0;
  let summaryStep: number | null = null;
  for (const row of state.log_history) {
    const fields = row && typeof row === "object" ? (row as Record<string, unknown>) : {};
    // A row with a key twice cannot say which value it logged.
    if (typeof fields.step !== "number" || !Number.isFinite(fields.step) || duplicateKeys(json, row).length) {
      skipped += 1;
      continue;
    }
    if (typeof fields.train_runtime === "number") summaryStep = fields.step;
    for (const [tag, value] of Object.entries(fields)) {
      // NaN and Infinity stay: they mark where the run diverged.
      if (tag !== "step" && typeof value === "number") {
        points.push({ tag, step: fields.step, value, wall_time: null });
      }
    }
  }
  return {
    ...emptyState(),
    points,
    progress: readProgress({ state }),
    summary_step: summaryStep,
    warning: skipped ? `skipped ${skipped} log_history row(s) without a step or with a duplicated key` : null,
  };
}

function readProgress({ state }: { state: z.infer<typeof trainerStateSchema> }): Progress | null {
  const progress = {
    global_step: state.global_step ?? null,
    max_steps: state.max_steps ?? null,
    epoch: state.epoch ?? null,
    num_train_epochs: state.num_train_epochs ?? null,
  };
  const { global_step: step, max_steps: maxSteps, epoch, num_train_epochs: epochs } = progress;
  if (step !== null && maxSteps !== null && maxSteps > 0) return { ...progress, percent: Math.min(100, (100 * step) / maxSteps) };
  if (epoch !== null && epochs !== null && epochs > 0) return { ...progress, percent: Math.min(100, (100 * epoch) / epochs) };
  return null;
}

function emptyState(): TrainerState {
  return { points: [], progress: null, summary_step: null, mtime_ms: 0, size_bytes: 0, warning: null };
}
