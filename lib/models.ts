import "server-only";
import type { Piece } from "@/lib/billing/accrual";
import { billFromPolls, BILLING_OFF, type Billing, type ModelBill } from "@/lib/billing/bill";
import { billedIdleGpus, vastHosts, type BilledIdleGpu } from "@/lib/billing/hosts";
import type { VastPolls } from "@/lib/billing/poller";
import type { Artifact } from "@/lib/data/artifacts";
import { latestEvaluations } from "@/lib/data/evaluations";
import { sampleLines } from "@/lib/data/samples";
import { ApiError, appendAll } from "@/lib/errors";
import type { IdleGpu } from "@/lib/gpu/idle";
import { EMPTY_HISTORY, finishAtPace, hoursRunning, MIN_PACE_MS, MIN_PACE_POINTS, type HistoryAggregate, type HistoryEntry, type ProgressAt } from "@/lib/history";
import { round } from "@/lib/numbers";
import { judgeRun, runStart, runWallHours, type RunVerdict } from "@/lib/run-status";
import type { ModelRun } from "@/lib/runs/model-run";
import type { FigureSource, ModelStatus, TrainingStatusResponse } from "@/lib/schemas/api";
import type { AfsConfig, Evaluation, ModelConfig } from "@/lib/schemas/config";
import type { SampleCount } from "@/lib/schemas/sample-count";

// What the data dir holds for the dashboard, as last read (lib/state keeps it current).
export type DataDirInputs = {
  dataDir: string;
  config: AfsConfig;
  evaluations: Evaluation[];
  runs: Map<string, ModelRun>;
  samples: Map<string, SampleCount | null>;
  artifacts: Map<string, { files: Artifact[]; warning?: string }>;
  warnings: string[];
};

// One consistent view of everything the API answers from. A new one is made only when something
// it shows changed, so it doubles as the version of every answer built from it.
export type Snapshot = {
  dataDir: string;
  config: AfsConfig;
  models: ModelStatus[];
  // Unrounded figures and what the estimate needs, per model key: totals, rates and shares are
  // computed from these and rounded once, in the answer.
  details: Map<string, ModelDetail>;
  runs: Map<string, ModelRun>;
  artifacts: DataDirInputs["artifacts"];
  evaluations: Evaluation[];
  estimate: TrainingStatusResponse["estimate"];
  first_update_at: string | null;
  // When the store was made: the session's start when nothing says otherwise.
  store_created_at: string;
  // vast.ai's instances and what they cost, as of the newest poll.
  billing: Billing;
  // Billed GPUs idle for AFS_IDLE_MINUTES.
  idle: BilledIdleGpu[];
  warnings: string[];
  now: number;
};

// pieces: the model's spend placed in time (its cost and GPU hours at any moment); empty where
// its hours are configured and not placed in time.
// started_at and ended_at: its first `running` and the status that ended it (epoch ms), for alerts.
export type ModelDetail = {
  gpu_hours: number;
  total_cost: number;
  progress_from_run: boolean;
  pieces: Piece[];
  burn_usd_per_hour: number;
  started_at: number | null;
  ended_at: number | null;
};

const BYTES_PER_MB = 1024 * 1024;
const HOUR_MS = 3_600_000;

// The dashboard's numbers from the data dir's contents and each model's status history, at `now`.
// A status the run files call for is handed to `record` (which stores it and folds it into
// `histories`); it is called once per change, since the next derivation sees it as current.
export function deriveSnapshot({
  inputs,
  histories,
  now,
  staleMs,
  firstSeen,
  record,
  vast,
  idle,
}: {
  inputs: DataDirInputs;
  histories: Map<string, HistoryAggregate>;
  now: number;
  staleMs: number;
  firstSeen: (opts: { key: string; subject: "model" | "run" }) => string;
  record: (entry: HistoryEntry & { model_key: string }) => void;
  // vast.ai's polls so far, when billing is on, and whether its instances are read over SSH.
  vast: { polls: VastPolls; ssh: boolean } | null;
  // GPUs idle long enough, billed or not.
  idle: IdleGpu[];
}): Omit<Snapshot, "now" | "store_created_at"> {
  const { runs } = inputs;
  const warnings = [...inputs.warnings];
  const latest = latestEvaluations(inputs.evaluations);
  const verdicts = new Map<string, RunVerdict>();
  for (const model of inputs.config.models) {
    const run = runs.get(model.key)!;
    const judge = () => {
      const history = histories.get(model.key) ?? EMPTY_HISTORY;
      return judgeRun({
        run,
        current: history.latest ?? model,
        lastPostedAt: history.latest_posted_at,
        runSeenAt: run.last_record_at === null ? null : firstSeen({ key: model.key, subject: "run" }),
        now,
        staleMs,
      });
    };
    let verdict = judge();
    if (verdict.change) {
      record({ model_key: model.key, ...verdict.change, source: "run", at: new Date(now).toISOString() });
      verdict = judge();
    }
    verdicts.set(model.key, verdict);
  }
  const billing = vast
    ? billFromPolls({ polls: vast.polls, now, models: inputs.config.models.map((m) => chargedWindows({ model: m, history: histories.get(m.key) ?? EMPTY_HISTORY, seenAt: firstSeen({ key: m.key, subject: "model" }) })) })
    : BILLING_OFF;
  appendAll(warnings, billing.warnings.map((w) => `vast.ai: ${w}`));
  const config = vast?.ssh ? withVastHosts({ config: inputs.config, billing, warnings }) : inputs.config;
  const statuses: ModelStatus[] = [];
  const details = new Map<string, ModelDetail>();
  for (const model of config.models) {
    const verdict = verdicts.get(model.key)!;
    if (verdict.stalled_since !== null) {
      warnings.push(`${model.key}: run stalled: no new record for ${Math.round((now - verdict.stalled_since) / 60_000)} min`);
    }
    const samples = inputs.samples.get(model.key) ?? null;
    if (samples && samples.malformed > 0) {
      warnings.push(`models/${model.key}_merged.jsonl: ${samples.malformed} malformed line(s), first at line ${samples.first_malformed_line}`);
    }
    const { status, detail } = toModelStatus({
      model,
      history: histories.get(model.key) ?? EMPTY_HISTORY,
      run: runs.get(model.key)!,
      verdict,
      samples,
      evaluation: latest.get(model.key),
      seenAt: firstSeen({ key: model.key, subject: "model" }),
      bill: billing.models.get(model.key),
      now,
    });
    statuses.push(status);
    details.set(model.key, detail);
  }
  const estimate = estimateCompletion({ models: statuses, details, histories, runs, now });
  const models = statuses.map((m) => withProjection({ model: m, detail: details.get(m.key)!, finishAt: estimate.models.find((e) => e.key === m.key)?.at ?? null, now }));
  const firstUpdates = [...histories.values()].map((h) => h.first_at).filter((t): t is string => t !== null);
  return {
    dataDir: inputs.dataDir,
    config,
    models,
    details,
    runs,
    artifacts: inputs.artifacts,
    evaluations: inputs.evaluations,
    estimate,
    billing,
    idle: billedIdleGpus({ idle, billing, config, running: models.filter((m) => m.status === "running") }),
    first_update_at: firstUpdates.length ? firstUpdates.reduce((a, b) => (a < b ? a : b)) : null,
    warnings,
  };
}

// The config with vast.ai's instances added as hosts; the same object while they stay the same,
// so the fleet is reconfigured only when they change.
const withHosts = new WeakMap<AfsConfig, { signature: string; config: AfsConfig }>();
function withVastHosts({ config, billing, warnings }: { config: AfsConfig; billing: Billing; warnings: string[] }): AfsConfig {
  const found = vastHosts({ billing, config });
  appendAll(warnings, found.warnings.map((w) => `vast.ai: ${w}`));
  if (!found.hosts.length) return config;
  const signature = JSON.stringify(found.hosts);
  const kept = withHosts.get(config);
  if (kept?.signature === signature) return kept.config;
  const next = { ...config, hosts: [...config.hosts, ...found.hosts] };
  withHosts.set(config, { signature, config: next });
  return next;
}

export function findModel<T extends { key: string }>(models: T[], key: string): T {
  const model = models.find((m) => m.key === key);
  if (!model) throw new ApiError("not_found", `Unknown model "${key}"`);
  return model;
}

function toModelStatus(input: {
  model: ModelConfig;
  history: HistoryAggregate;
  run: ModelRun;
  verdict: RunVerdict;
  samples: SampleCount | null;
  evaluation?: Evaluation;
  seenAt: string;
  bill?: ModelBill;
  now: number;
}): { status: ModelStatus; detail: ModelDetail } {
  const { model, history, run, verdict, samples, evaluation, bill, now } = input;
  const current = history.latest;
  const status = current?.status ?? model.status;
  const configured = gpuHours({ model, history, run, verdict, now });
  const hours = bill ? { value: bill.gpu_hours, source: "vastai" as const } : configured;
  const cost = bill ? bill.total_cost : hours.value * model.cost_per_hour;
  const rate = model.cost_per_hour * model.num_gpus;
  // Without vast.ai, the configured cost is placed in time from when the model first ran (else
  // its run's first record), at its rate, until the hours are used up.
  const start = history.first_running_at ? Date.parse(history.first_running_at) : runStart(run);
  const pieces = bill ? bill.pieces : start === null || hours.value === 0 ? [] : [{ from: start, to: start + (hours.value / model.num_gpus) * HOUR_MS, usd_per_hour: rate, gpus: model.num_gpus }];
  const lastRecord = run.last_record_at === null ? null : new Date(run.last_record_at).toISOString();
  const sizeBytes = samples?.size ?? 0;
  return {
    status: {
      key: model.key,
      name: model.name,
      status,
      progress: verdict.progress ?? current?.progress ?? model.progress,
      gpu_hours: round(hours.value, 4),
      cost_per_hour: model.cost_per_hour,
      total_cost: round(cost, 4),
      training_samples: samples ? sampleLines(samples) : 0,
      file_size_mb: round(sizeBytes / BYTES_PER_MB, 3),
      evaluation_score: evaluation?.score ?? null,
      deployment_status: model.deployment_status,
      // The newer of the last posted status and the run's newest record (a status recorded from
      // the run only mirrors it); else when the dashboard first saw the model, never a file's mtime.
      last_update: [history.latest_posted_at, lastRecord].filter((t): t is string => !!t).sort().at(-1) ?? current?.at ?? input.seenAt,
      gpu_hours_source: hours.source,
      total_cost_source: hours.source,
      file_size_bytes: sizeBytes,
      stalled_since: verdict.stalled_since === null ? null : new Date(verdict.stalled_since).toISOString(),
      config_errors: model.config_errors,
      host: model.host,
      vast_instance: bill?.instance_id ?? model.vast_instance ?? null,
      // Set by withProjection once the estimate is known.
      burn_rate_usd_per_hour: 0,
      projected_cost_to_finish: null,
      projected_total_cost: null,
    },
    detail: {
      gpu_hours: hours.value,
      total_cost: cost,
      progress_from_run: verdict.progress !== null,
      pieces,
      burn_usd_per_hour: bill ? bill.burn_usd_per_hour : status === "running" ? rate : 0,
      started_at: history.first_running_at === null ? null : Date.parse(history.first_running_at),
      ended_at: history.ended_at === null ? null : Date.parse(history.ended_at),
    },
  };
}

// The window a model is charged its vast.ai instance for: from its first `running` (a model
// that runs without a history yet, from when it was first seen) to its end, or on while it has
// not ended.
function chargedWindows({ model, history, seenAt }: { model: ModelConfig; history: HistoryAggregate; seenAt: string }) {
  const status = history.latest?.status ?? model.status;
  const from = history.first_running_at ?? (status === "running" ? seenAt : null);
  const windows = from === null ? [] : [{ from: Date.parse(from), to: history.ended_at === null ? null : Date.parse(history.ended_at) }];
  return { key: model.key, ...(model.vast_instance === undefined ? {} : { instance_id: model.vast_instance }), windows };
}

// The burn rate, and for a model that will finish: what is left to pay at that rate until its
// estimated finish, and the total; a model that has ended projects what it cost.
function withProjection({ model, detail, finishAt, now }: { model: ModelStatus; detail: ModelDetail; finishAt: string | null; now: number }): ModelStatus {
  const ended = model.status === "completed" || model.status === "failed";
  const toFinish = ended ? 0 : finishAt === null ? null : (detail.burn_usd_per_hour * (Date.parse(finishAt) - now)) / HOUR_MS;
  return {
    ...model,
    burn_rate_usd_per_hour: round(detail.burn_usd_per_hour, 4),
    projected_cost_to_finish: toFinish === null ? null : round(toFinish, 4),
    projected_total_cost: toFinish === null ? null : round(detail.total_cost + toFinish, 4),
  };
}

// Configured hours as written; else the longer of the time spent running and the run's own wall
// time (they overlap when run data set the status, so they are not added). An old run copied in
// after the fact is not charged for the time before the dashboard saw it.
function gpuHours({ model, history, run, verdict, now }: { model: ModelConfig; history: HistoryAggregate; run: ModelRun; verdict: RunVerdict; now: number }): {
  value: number;
  source: FigureSource;
} {
  if (model.gpu_hours !== undefined) return { value: model.gpu_hours, source: "configured" };
  const running = hoursRunning(history, now);
  const wall = verdict.old ? 0 : runWallHours(run);
  return { value: Math.max(running, wall) * model.num_gpus, source: wall > running ? "run_files" : "status_history" };
}

// Per running model, when it reaches 100 % at its pace: the run's own timed records when its
// progress comes from them, else its current running stretch of status updates. A model without
// a trustworthy pace, or whose expected finish has passed ("overdue"), is listed with the reason
// and left out of `at`, the latest finish among the others; nothing answered is in the past.
function estimateCompletion({
  models,
  details,
  histories,
  runs,
  now,
}: {
  models: ModelStatus[];
  details: Map<string, ModelDetail>;
  histories: Map<string, HistoryAggregate>;
  runs: Map<string, ModelRun>;
  now: number;
}): TrainingStatusResponse["estimate"] {
  const entries = models
    .filter((m) => m.status === "running")
    .map((m) => {
      const pace = details.get(m.key)?.progress_from_run ? runPace(runs.get(m.key)) : (histories.get(m.key)?.stretch ?? null);
      if (!pace) return { key: m.key, at: null, reason: "no progress updates or timed run records yet" };
      const at = finishAtPace(pace.first, pace.last);
      if (at === null) {
        return { key: m.key, at: null, reason: `needs progress of at least ${MIN_PACE_POINTS} point over at least ${MIN_PACE_MS / 1000} s` };
      }
      if (at <= now) return { key: m.key, at: null, reason: `overdue: expected by ${new Date(at).toISOString()}` };
      return { key: m.key, at: new Date(at).toISOString() };
    });
  const times = entries.map((e) => e.at).filter((t): t is string => t !== null);
  return { at: times.length ? times.reduce((a, b) => (a > b ? a : b)) : null, models: entries };
}

function runPace(run: ModelRun | undefined): { first: ProgressAt; last: ProgressAt } | null {
  const maxSteps = run?.progress?.max_steps;
  if (!run?.step_times || !maxSteps) return null;
  const point = ({ step, at }: { step: number; at: number }) => ({ at, progress: Math.min(100, (100 * step) / maxSteps) });
  return { first: point(run.step_times.first), last: point(run.step_times.last) };
}
