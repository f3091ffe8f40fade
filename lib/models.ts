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
import { listStatusUpdates, type StatusUpdate } from "@/lib/store/status-updates";
import { ApiError } from "@/lib/errors";

export type Snapshot = {
  dataDir: string;
  config: AfsConfig;
  models: ModelStatus[];
  histories: Map<string, HistoryEntry[]>;
  evaluations: Evaluation[];
  warnings: string[];
  now: number;
};

const BYTES_PER_MB = 1024 * 1024;

// One consistent read of everything the API answers from: config, store history, training
// files and evaluations. Unchanged files come from the (path, size, mtime) cache.
export async function getSnapshot(): Promise<Snapshot> {
  const { dataDir } = getEnv();
  const now = Date.now();
  const [{ config, modifiedAt, warnings }, evals] = await Promise.all([loadConfig({ dataDir }), loadEvaluations({ dataDir })]);
  warnings.push(...evals.warnings);

  const histories = groupHistory(listStatusUpdates());
  const latest = latestEvaluations(evals.evaluations);
  const models = await Promise.all(
    config.models.map(async (model) => {
      const samples = await readSamples(dataDir, model.key, warnings);
      return toModelStatus({
        model,
        history: histories.get(model.key) ?? [],
        samples,
        evaluation: latest.get(model.key),
        configModifiedAt: modifiedAt,
        now,
      });
    }),
  );
  return { dataDir, config, models, histories, evaluations: evals.evaluations, warnings, now };
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
  samples: { lines: number; sizeBytes: number };
  evaluation?: Evaluation;
  configModifiedAt: string | null;
  now: number;
}): ModelStatus {
  const { model, history, samples, evaluation, now } = input;
  const current = history.at(-1);
  const gpuHours = model.gpu_hours ?? hoursRunning(history, now) * model.num_gpus;
  return {
    key: model.key,
    name: model.name,
    status: current?.status ?? model.status,
    progress: current?.progress ?? model.progress,
    gpu_hours: round(gpuHours, 4),
    cost_per_hour: model.cost_per_hour,
    total_cost: round(gpuHours * model.cost_per_hour, 4),
    training_samples: samples.lines,
    file_size_mb: round(samples.sizeBytes / BYTES_PER_MB, 3),
    evaluation_score: evaluation?.score ?? null,
    deployment_status: model.deployment_status,
    last_update: current?.at ?? input.configModifiedAt ?? new Date(now).toISOString(),
  };
}
