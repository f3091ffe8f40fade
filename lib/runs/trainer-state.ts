import "server-only";
import fs from "node:fs/promises";
import { z } from "zod";
import { describeError, readCached } from "@/lib/data/file-cache";
import { parseJsonLenient } from "./json";
import type { TaggedPoint } from "./tail";

export type Progress = { global_step: number; max_steps: number };

export type TrainerState = {
  // log_history as points: every finite number in a row is a tag at the row's step (no times).
  points: TaggedPoint[];
  progress: Progress | null;
  // Step of the row the Trainer writes once training has finished (train_runtime, the run's
  // mean train_loss, ...), null while it has not.
  summary_step: number | null;
  mtime_ms: number;
  size_bytes: number;
  warning: string | null;
};

const trainerStateSchema = z.object({
  global_step: z.number().optional(),
  max_steps: z.number().optional(),
  log_history: z.array(z.unknown()).default([]),
});

// HuggingFace's trainer_state.json, cached until its size or mtime changes. Never throws: an
// unreadable or malformed file comes back empty with a warning (without the file's name).
export async function readTrainerState({ path }: { path: string }): Promise<TrainerState> {
  try {
    return await readCached({ path, loader: "runs-trainer-state" }, async (stat) => {
      const base = { mtime_ms: stat.mtimeMs, size_bytes: stat.size };
      const parsed = trainerStateSchema.safeParse(parseJsonLenient({ text: await fs.readFile(path, "utf8") }));
      if (!parsed.success) return { ...emptyState(), ...base, warning: "not a trainer_state.json (bad JSON or fields)" };
      return { ...parseTrainerState({ state: parsed.data }), ...base };
    });
  } catch (error) {
    return { ...emptyState(), warning: `could not read: ${describeError(error)}` };
  }
}

function parseTrainerState({ state }: { state: z.infer<typeof trainerStateSchema> }): TrainerState {
  const points: TaggedPoint[] = [];
  let skipped = 0;
  let summaryStep: number | null = null;
  for (const row of state.log_history) {
    const fields = row && typeof row === "object" ? (row as Record<string, unknown>) : {};
    if (typeof fields.step !== "number" || !Number.isFinite(fields.step)) {
      skipped += 1;
      continue;
    }
    if (typeof fields.train_runtime === "number") summaryStep = fields.step;
    for (const [tag, value] of Object.entries(fields)) {
      if (tag !== "step" && typeof value === "number" && Number.isFinite(value)) {
        points.push({ tag, step: fields.step, value, wall_time: null });
      }
    }
  }
  const { global_step: globalStep, max_steps: maxSteps } = state;
  return {
    ...emptyState(),
    points,
    progress: globalStep !== undefined && maxSteps !== undefined && maxSteps > 0 ? { global_step: globalStep, max_steps: maxSteps } : null,
    summary_step: summaryStep,
    warning: skipped ? `skipped ${skipped} log_history row(s) without a step` : null,
  };
}

function emptyState(): TrainerState {
  return { points: [], progress: null, summary_step: null, mtime_ms: 0, size_bytes: 0, warning: null };
}
