import "server-only";
import path from "node:path";
import { getEnv } from "@/lib/env";
import { loadConfig } from "@/lib/data/config";
import { latestEvaluations, loadEvaluations } from "@/lib/data/evaluations";
import { countSamples } from "@/lib/data/samples";
import { describeError, isMissing } from "@/lib/data/file-cache";
import { hoursRunning, round, type HistoryEntry } from "@/lib/history";
import type { AfsConfig, Evaluation, ModelConfig } from "@/lib/schemas/config";
import type { ModelStatus } from "@/lib/schemas/api";
import { insertStatusUpdate, listStatusUpdates, statusWriteCount, type StatusUpdate } from "@/lib/store/status-updates";
import { ApiError, storeFailure } from "@/lib/errors";
import { publishEvent } from "@/lib/events";
import { judgeRun, runWallHours } from "@/lib/run-status";
import { EMPTY_RUN, readModelRun, type ModelRun } from "@/lib/runs/model-run";
import { listRunFolders } from "@/lib/runs/scan";

export type Snapshot = {
  dataDir: string;
  config: AfsConfig;
  models: ModelStatus[];
  histories: Map<string, HistoryEntry[]>;
  runs: Map<string, ModelRun>;
  evaluations: Evaluation[];
  warnings: string[];
  now: number;
};

const BYTES_PER_MB = 1024 * 1024;

// Requests that arrive while a snapshot is being built share it, unless a status was written
// since it started (so a reader always sees the writes acknowledged before it asked). Treat the
// result as read-only.
const g = globalThis as typeof globalThis & { __afsSnapshot?: { key: string; promise: Promise<Snapshot> } };

export function getSnapshot(): Promise<Snapshot> {
  const { dataDir, dbPath } = getEnv();
  const key = `${dataDir}\0${dbPath}\0${statusWriteCount()}`;
  if (g.__afsSnapshot?.key === key) return g.__afsSnapshot.promise;
  const promise = buildSnapshot().finally(() => {
    if (g.__afsSnapshot?.promise === promise) g.__afsSnapshot = undefined;
  });
  g.__afsSnapshot = { key, promise };
  return promise;
}

// One consistent read of everything the API answers from: config, store history, run folders,
// training files and evaluations. Unchanged files come from the (path, size, mtime) cache, and
// run files are read incrementally.
async function buildSnapshot(): Promise<Snapshot> {
  const { dataDir, staleMs } = getEnv();
  const now = Date.now();
  const [{ config, modifiedAt, warnings }, evals] = await Promise.all([loadConfig({ dataDir }), loadEvaluations({ dataDir })]);
  warnings.push(...evals.warnings);

  const updates = listStatusUpdates();
  // Oldest first, so the last write per key is each model's newest update.
  const latestUpdate = new Map(updates.map((u) => [u.model_key, u]));
  const runs = new Map<string, ModelRun>();
  const runDirs = await listRunFolders({ dataDir });
  const changedByRun = new Set<string>();
  for (const model of config.models) {
    const run = runDirs.has(model.key) ? await readModelRun({ dataDir, key: model.key, aliases: model.metrics }) : EMPTY_RUN;
    runs.set(model.key, run);
    warnings.push(...run.warnings.map((w) => `${model.key}: ${w}`));
    const last = latestUpdate.get(model.key);
    const current = last ?? model;
    const verdict = judgeRun({ run, current, lastUpdateAt: last?.at ?? null, now, staleMs });
    if (verdict.stalled) warnings.push(`${model.key}: run stalled: no new record for ${Math.round((now - run.last_record_at!) / 60_000)} min`);
    if (verdict.change) {
      const update = { model_key: model.key, ...verdict.change, source: "run", at: new Date(now).toISOString() };
      try {
        updates.push(insertStatusUpdate(update));
        changedByRun.add(model.key);
      } catch (error) {
        // A full or read-only store must not take reads down: show the run's status, say why
        // it is not recorded, and record it on a later read.
        if (!storeFailure(error)) throw error;
        updates.push({ id: -1, ...update });
        warnings.push(`${model.key}: status from run files not recorded: ${describeError(error)}`);
      }
    }
  }

  const histories = groupHistory(updates);
  const latest = latestEvaluations(evals.evaluations);
  // One training file at a time: a cold start over many large files must not hold a read
  // buffer per model at once.
  const models: ModelStatus[] = [];
  for (const model of config.models) {
    const samples = await readSamples(dataDir, model.key, warnings);
    models.push(
      toModelStatus({
        model,
        history: histories.get(model.key) ?? [],
        run: runs.get(model.key)!,
        samples,
        evaluation: latest.get(model.key),
        configModifiedAt: modifiedAt,
        now,
      }),
    );
  }
  // Status changes found in run files go out on the live stream like posted ones.
  for (const m of models) if (changedByRun.has(m.key)) publishEvent({ type: "status", data: m });
  return { dataDir, config, models, histories, runs, evaluations: evals.evaluations, warnings, now };
}

export async function getModelStatus({ key }: { key: string }): Promise<ModelStatus> {
  const { models } = await getSnapshot();
  return findModel(models, key);
}

export function findModel<T extends { key: string }>(models: T[], key: string): T {
  const model = models.find((m) => m.key === key);
  if (!model) throw new ApiError("not_found", `Unknown model "${key}"`);
  return model;
}

function groupHistory(updates: StatusUpdate[]): Map<string, HistoryEntry[]> {
  const byKey = new Map<string, HistoryEntry[]>();
  for (const u of updates) {
    const list = byKey.get(u.model_key) ?? [];
    list.push({ status: u.status, progress: u.progress, at: u.at });
    byKey.set(u.model_key, list);
  }
  return byKey;
}

async function readSamples(dataDir: string, key: string, warnings: string[]) {
  const file = path.join(dataDir, "models", `${key}_merged.jsonl`);
  try {
    const count = await countSamples({ path: file });
    if (count.malformed > 0) {
      warnings.push(`models/${key}_merged.jsonl: ${count.malformed} malformed line(s), first at line ${count.firstMalformedLine}`);
    }
    return count;
  } catch (error) {
    // No training file yet is normal for a pending model; anything else is worth a warning.
    if (!isMissing(error)) warnings.push(`models/${key}_merged.jsonl: ${describeError(error)}`);
    return { lines: 0, sizeBytes: 0 };
  }
}

function toModelStatus(input: {
  model: ModelConfig;
  history: HistoryEntry[];
  run: ModelRun;
  samples: { lines: number; sizeBytes: number };
  evaluation?: Evaluation;
  configModifiedAt: string | null;
  now: number;
}): ModelStatus {
  const { model, history, run, samples, evaluation, now } = input;
  const current = history.at(-1);
  // Without configured hours: the longer of the time spent running and the run's own wall
  // time (they overlap when run data set the status, so they are not added).
  const hours = round(model.gpu_hours ?? Math.max(hoursRunning(history, now), runWallHours(run)) * model.num_gpus, 4);
  return {
    key: model.key,
    name: model.name,
    status: current?.status ?? model.status,
    progress: current?.progress ?? model.progress,
    gpu_hours: hours,
    cost_per_hour: model.cost_per_hour,
    // From the rounded hours, so the cost shown is exactly hours × rate as shown.
    total_cost: round(hours * model.cost_per_hour, 4),
    training_samples: samples.lines,
    file_size_mb: round(samples.sizeBytes / BYTES_PER_MB, 3),
    evaluation_score: evaluation?.score ?? null,
    deployment_status: model.deployment_status,
    last_update: current?.at ?? input.configModifiedAt ?? new Date(now).toISOString(),
  };
}
