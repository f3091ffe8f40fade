import "server-only";
import path from "node:path";
import { getEnv } from "@/lib/env";
import { loadConfig } from "@/lib/data/config";
import { latestEvaluations, loadEvaluations } from "@/lib/data/evaluations";
import { countSamples } from "@/lib/data/samples";
import { describeError, isMissing } from "@/lib/data/file-cache";
import { hoursRunning, round, type HistoryEntry } from "@/lib/history";
import type { AfsConfig, Evaluation, ModelConfig } from "@/lib/schemas/config";
import type { FigureSource, ModelStatus } from "@/lib/schemas/api";
import { firstSeen } from "@/lib/store/first-seen";
import { insertStatusUpdate, listStatusUpdates, statusWriteCount, type StatusUpdate } from "@/lib/store/status-updates";
import { ApiError, storeFailure } from "@/lib/errors";
import { publishEvent } from "@/lib/events";
import { judgeRun, runWallHours, type RunVerdict } from "@/lib/run-status";
import { EMPTY_RUN, readModelRun, type ModelRun } from "@/lib/runs/model-run";
import { listRunFolders } from "@/lib/runs/scan";

export type Snapshot = {
  dataDir: string;
  config: AfsConfig;
  models: ModelStatus[];
  // Unrounded figures and what the estimate needs, per model key: totals, rates and shares are
  // computed from these and rounded once, in the answer.
  details: Map<string, ModelDetail>;
  histories: Map<string, HistoryEntry[]>;
  runs: Map<string, ModelRun>;
  evaluations: Evaluation[];
  warnings: string[];
  now: number;
};

export type ModelDetail = { gpu_hours: number; total_cost: number; progress_from_run: boolean };

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
  const [{ config, warnings }, evals] = await Promise.all([loadConfig({ dataDir }), loadEvaluations({ dataDir })]);
  warnings.push(...evals.warnings);

  const updates = listStatusUpdates();
  // Oldest first, so the last write per key is each model's newest update.
  const latestUpdate = new Map(updates.map((u) => [u.model_key, u]));
  const latestPosted = new Map(updates.filter((u) => u.source !== "run").map((u) => [u.model_key, u]));
  const runs = new Map<string, ModelRun>();
  const verdicts = new Map<string, RunVerdict>();
  const runDirs = await listRunFolders({ dataDir });
  const changedByRun = new Set<string>();
  for (const model of config.models) {
    const run = runDirs.has(model.key) ? await readModelRun({ dataDir, key: model.key, aliases: model.metrics }) : EMPTY_RUN;
    runs.set(model.key, run);
    warnings.push(...run.warnings.map((w) => `${model.key}: ${w}`));
    const last = latestUpdate.get(model.key);
    const verdict = judgeRun({
      run,
      current: last ?? model,
      lastUpdateAt: last?.at ?? null,
      lastPostedAt: latestPosted.get(model.key)?.at ?? null,
      runSeenAt: run.last_record_at === null ? null : firstSeen({ key: model.key, subject: "run", now }),
      now,
      staleMs,
    });
    verdicts.set(model.key, verdict);
    if (verdict.stalled_since !== null) {
      warnings.push(`${model.key}: run stalled: no new record for ${Math.round((now - verdict.stalled_since) / 60_000)} min`);
    }
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
  const details = new Map<string, ModelDetail>();
  for (const model of config.models) {
    const samples = await readSamples(dataDir, model.key, warnings);
    const { status, detail } = toModelStatus({
      model,
      history: histories.get(model.key) ?? [],
      run: runs.get(model.key)!,
      verdict: verdicts.get(model.key)!,
      samples,
      evaluation: latest.get(model.key),
      seenAt: firstSeen({ key: model.key, subject: "model", now }),
      now,
    });
    models.push(status);
    details.set(model.key, detail);
  }
  // Status changes found in run files go out on the live stream like posted ones.
  for (const m of models) if (changedByRun.has(m.key)) publishEvent({ type: "status", data: m });
  return { dataDir, config, models, details, histories, runs, evaluations: evals.evaluations, warnings, now };
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
    list.push({ status: u.status, progress: u.progress, source: u.source, at: u.at });
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
  verdict: RunVerdict;
  samples: { lines: number; sizeBytes: number };
  evaluation?: Evaluation;
  seenAt: string;
  now: number;
}): { status: ModelStatus; detail: ModelDetail } {
  const { model, history, run, verdict, samples, evaluation, now } = input;
  const current = history.at(-1);
  const hours = gpuHours({ model, history, run, verdict, now });
  const cost = hours.value * model.cost_per_hour;
  const lastRecord = run.last_record_at === null ? null : new Date(run.last_record_at).toISOString();
  const lastPosted = history.findLast((e) => e.source !== "run")?.at;
  return {
    status: {
      key: model.key,
      name: model.name,
      status: current?.status ?? model.status,
      progress: verdict.progress ?? current?.progress ?? model.progress,
      gpu_hours: round(hours.value, 4),
      cost_per_hour: model.cost_per_hour,
      total_cost: round(cost, 4),
      training_samples: samples.lines,
      file_size_mb: round(samples.sizeBytes / BYTES_PER_MB, 3),
      evaluation_score: evaluation?.score ?? null,
      deployment_status: model.deployment_status,
      // The newer of the last posted status and the run's newest record (a status recorded from
      // the run only mirrors it); else when the dashboard first saw the model, never a file's mtime.
      last_update: [lastPosted, lastRecord].filter((t): t is string => !!t).sort().at(-1) ?? current?.at ?? input.seenAt,
      gpu_hours_source: hours.source,
      total_cost_source: hours.source,
      file_size_bytes: samples.sizeBytes,
      stalled_since: verdict.stalled_since === null ? null : new Date(verdict.stalled_since).toISOString(),
      config_errors: model.config_errors,
    },
    detail: { gpu_hours: hours.value, total_cost: cost, progress_from_run: verdict.progress !== null },
  };
}

// Configured hours as written; else the longer of the time spent running and the run's own wall
// time (they overlap when run data set the status, so they are not added). An old run copied in
// after the fact is not charged for the time before the dashboard saw it.
function gpuHours({ model, history, run, verdict, now }: { model: ModelConfig; history: HistoryEntry[]; run: ModelRun; verdict: RunVerdict; now: number }): {
  value: number;
  source: FigureSource;
} {
  if (model.gpu_hours !== undefined) return { value: model.gpu_hours, source: "configured" };
  const running = hoursRunning(history, now);
  const wall = verdict.old ? 0 : runWallHours(run);
  return { value: Math.max(running, wall) * model.num_gpus, source: wall > running ? "run_files" : "status_history" };
}
