import { z } from "zod";
import { deploymentStatusSchema, modelKeySchema, modelStatusValueSchema, progressSchema } from "./config";

// Response shapes of the /api routes. The keys are the seed's: scripts depend on them.

// Where a figure comes from: the config as written, time spent `running` in the status
// history, the run's own record times, or the vast.ai instance the model is linked to.
export const figureSourceSchema = z.enum(["configured", "status_history", "run_files", "vastai"]);
export type FigureSource = z.infer<typeof figureSourceSchema>;

export const modelStatusSchema = z.object({
  key: z.string(),
  name: z.string(),
  status: modelStatusValueSchema,
  progress: z.number(),
  gpu_hours: z.number(),
  cost_per_hour: z.number(),
  total_cost: z.number(),
  training_samples: z.number().int(),
  file_size_mb: z.number(),
  evaluation_score: z.number().nullable(),
  deployment_status: deploymentStatusSchema,
  last_update: z.string(),
  // Added after the seed's keys (the CSV export keeps their column order).
  gpu_hours_source: figureSourceSchema,
  total_cost_source: figureSourceSchema,
  file_size_bytes: z.number().int(),
  // When a running model's run stopped writing (its newest record), while it is stalled.
  stalled_since: z.string().nullable(),
  // Fields of this model's config entry that were invalid and are shown at their defaults.
  config_errors: z.array(z.string()),
  // The host its run folder is read from: "local" or a name from the config's `hosts`.
  host: z.string(),
  // The vast.ai instance it is billed on (its label is the model key, or the config names it).
  vast_instance: z.number().int().nullable(),
  // What it costs per hour now: its instance's share of the instance's rate, else its configured
  // rate times its GPUs while it runs; 0 when it costs nothing now.
  burn_rate_usd_per_hour: z.number(),
  // For a running model with an estimated finish: what is left to pay at today's rate, and the
  // total; a finished model's total is its cost; null where no estimate can be made.
  projected_cost_to_finish: z.number().nullable(),
  projected_total_cost: z.number().nullable(),
});
export type ModelStatus = z.infer<typeof modelStatusSchema>;

// A broken file in the data dir never fails a request: the answer lists the problem here.
const warningsSchema = z.array(z.string());

export const modelsStatusResponseSchema = z.object({ models: z.array(modelStatusSchema), timestamp: z.string(), warnings: warningsSchema });
export type ModelsStatusResponse = z.infer<typeof modelsStatusResponseSchema>;

export const healthResponseSchema = z.object({
  // degraded: serving, with warnings about the data dir; unhealthy: the store cannot be read.
  status: z.enum(["healthy", "degraded", "unhealthy"]),
  warning_count: z.number().int(),
  timestamp: z.string(),
  version: z.string(),
  data_dir: z.string(),
  db: z.object({ path: z.string(), schema_version: z.number().int() }),
  // The store's engine and whether it answers now (never its password); `jobs` are those this
  // process runs for every process on the same database (the pruner, this host's GPU poller).
  store: z.object({
    engine: z.enum(["sqlite", "postgres"]),
    ok: z.boolean(),
    latency_ms: z.number().nullable(),
    error: z.string().optional(),
    jobs: z.array(z.string()),
  }),
  // The data dir's first scan after start, the JSONL bytes read to count samples since start, and
  // how many training files still wait for their JSON check.
  scan: z.object({
    state: z.enum(["scanning", "ready"]),
    files_done: z.number().int(),
    files_total: z.number().int(),
    bytes_read: z.number().int(),
    checking: z.number().int(),
  }),
  warnings: warningsSchema,
});
export type HealthResponse = z.infer<typeof healthResponseSchema>;

export const trainingStatusResponseSchema = z.object({
  session_start: z.string(),
  total_cost: z.number(),
  models_completed: z.number().int(),
  models_in_progress: z.number().int(),
  models_pending: z.number().int(),
  models_failed: z.number().int(),
  budget_usd: z.number().nullable(),
  estimated_completion: z.string().nullable(),
  // Which running models were estimated, and why the others were not.
  estimate: z.object({
    at: z.string().nullable(),
    models: z.array(z.object({ key: z.string(), at: z.string().nullable(), reason: z.string().optional() })),
  }),
  warnings: warningsSchema,
});
export type TrainingStatusResponse = z.infer<typeof trainingStatusResponseSchema>;

export const costBreakdownResponseSchema = z.object({
  breakdown: z.record(
    z.string(),
    z.object({
      total_cost: z.number(),
      gpu_hours: z.number(),
      cost_per_hour: z.number(),
      share: z.number(),
      burn_rate_usd_per_hour: z.number(),
      projected_cost_to_finish: z.number().nullable(),
      projected_total_cost: z.number().nullable(),
    }),
  ),
  total_cost: z.number(),
  hourly_rate: z.number(),
  budget_usd: z.number().nullable(),
  budget_remaining: z.number().nullable(),
  // The fleet's $/h now: running vast.ai instances' dph_total, stopped ones' storage, and the
  // configured rates of running models not on vast.ai.
  burn_rate_usd_per_hour: z.number(),
  // spent: every model's cost plus what vast.ai instances accrued with no model on them;
  // runs_out_at: when `left` is spent at the burn rate (null without a budget, without a burn,
  // or once nothing is left).
  budget: z.object({ usd: z.number().nullable(), spent: z.number(), left: z.number().nullable(), runs_out_at: z.string().nullable() }),
  // Billed GPUs under AFS_IDLE_UTIL_PERCENT for AFS_IDLE_MINUTES, and what they cost per hour.
  idle: z.object({ gpus: z.number().int(), usd_per_hour: z.number() }),
  warnings: warningsSchema,
});
export type CostBreakdownResponse = z.infer<typeof costBreakdownResponseSchema>;

export const metricsSourceSchema = z.enum(["none", "nvidia-smi", "replay", "dcgm-exporter", "runs"]);

export const gpuUtilizationResponseSchema = z.object({
  metrics: z.array(
    z.object({
      timestamp: z.string(),
      gpu_index: z.number().int(),
      utilization: z.number().nullable(),
      memory_used_gb: z.number().nullable(),
      memory_total_gb: z.number().nullable(),
    }),
  ),
  current_utilization: z.number().nullable(),
  source: metricsSourceSchema,
});
export type GpuUtilizationResponse = z.infer<typeof gpuUtilizationResponseSchema>;

export const trainingLossResponseSchema = z.object({
  metrics: z.array(
    z.object({
      model: z.string(),
      step: z.number(),
      train_loss: z.number().nullable(),
      val_loss: z.number().nullable(),
      // null where the source records no time (trainer_state.json rows)
      timestamp: z.string().nullable(),
      // The model's GPU hours and cost when this point was logged (null without a timestamp, or
      // for a model whose hours are configured rather than placed in time).
      gpu_hours: z.number().nullable(),
      cost_usd: z.number().nullable(),
    }),
  ),
  // Where a loss went NaN or infinite (left out of `metrics`): per model and series, the first
  // such step and how many; the chart marks it.
  non_finite: z.array(z.object({ model: z.string(), series: z.enum(["train_loss", "val_loss"]), first_step: z.number(), count: z.number() })),
  source: metricsSourceSchema,
});
export type TrainingLossResponse = z.infer<typeof trainingLossResponseSchema>;

export const throughputResponseSchema = z.object({
  metrics: z.array(
    z.object({
      model: z.string(),
      step: z.number(),
      samples_per_sec: z.number().nullable(),
      tokens_per_sec: z.number().nullable(),
      timestamp: z.string().nullable(),
    }),
  ),
  source: metricsSourceSchema,
});
export type ThroughputResponse = z.infer<typeof throughputResponseSchema>;

export const artifactFileSchema = z.object({ name: z.string(), size_bytes: z.number().int(), download_url: z.string() });
export type ArtifactFile = z.infer<typeof artifactFileSchema>;

export const registryResponseSchema = z.object({
  models: z.array(
    z.object({
      key: z.string(),
      name: z.string(),
      status: modelStatusValueSchema,
      training_samples: z.number().int(),
      file_size_mb: z.number(),
      file_size_bytes: z.number().int(),
      evaluation_score: z.number().nullable(),
      deployment_status: deploymentStatusSchema,
      files: z.array(artifactFileSchema),
    }),
  ),
  warnings: warningsSchema,
});
export type RegistryResponse = z.infer<typeof registryResponseSchema>;

// POST /api/update-status: unknown fields are refused, so a typo is a 400 rather than a silent no-op.
export const updateStatusBodySchema = z.strictObject({
  model_key: modelKeySchema,
  status: modelStatusValueSchema,
  progress: progressSchema,
});
export type UpdateStatusBody = z.infer<typeof updateStatusBodySchema>;

export const errorResponseSchema = z.object({ error: z.string(), details: z.unknown().optional() });

// GET /api/gpus and the `gpu` event of /api/stream: the newest reading of every GPU.
export const gpuProcessSchema = z.object({ pid: z.number().int(), name: z.string(), used_memory_mb: z.number().nullable() });

export const gpuReadingSchema = z.object({
  index: z.number().int(),
  uuid: z.string().nullable(),
  name: z.string().nullable(),
  bus_id: z.string().nullable(),
  pstate: z.string().nullable(),
  utilization: z.number().nullable(),
  memory_utilization: z.number().nullable(),
  memory_used_mb: z.number().nullable(),
  memory_total_mb: z.number().nullable(),
  temperature_c: z.number().nullable(),
  power_w: z.number().nullable(),
  power_limit_w: z.number().nullable(),
  sm_clock_mhz: z.number().nullable(),
  mem_clock_mhz: z.number().nullable(),
  fan_percent: z.number().nullable(),
  // "GPU is lost", "Unknown Error" or an NVML failure message; the fields it hit are null.
  error: z.string().nullable(),
});

export const gpuSnapshotSchema = z.object({
  source: z.enum(["nvidia-smi", "replay", "off", "dcgm-exporter"]),
  // stopped: no poller runs in this process; off: AFS_GPU_SOURCE=off.
  status: z.enum(["starting", "ok", "unavailable", "error", "off", "stopped"]),
  reason: z.string().optional(),
  sampled_at: z.string().nullable(),
  gpus: z.array(gpuReadingSchema.extend({ processes: z.array(gpuProcessSchema) })),
});
export type GpuSnapshot = z.infer<typeof gpuSnapshotSchema>;

// The `gpu` event of /api/stream: one host's snapshot, named.
export const gpuEventSchema = gpuSnapshotSchema.extend({ host: z.string() });

// GET /api/hosts and /api/hosts/{name}: every host the dashboard reads, "local" (this machine)
// first. host_key_unknown: a host whose key is in no known_hosts file and AFS_SSH_TOFU is off.
export const hostStateSchema = z.enum(["connecting", "online", "unreachable", "auth_failed", "host_key_mismatch", "host_key_unknown", "no_gpu"]);
export type HostState = z.infer<typeof hostStateSchema>;

export const hostSchema = z.object({
  name: z.string(),
  state: hostStateSchema,
  reason: z.string().optional(),
  // When the host last answered (ISO); null before it ever did.
  last_seen: z.string().nullable(),
  source: z.enum(["local", "ssh", "dcgm-exporter"]),
  // How its GPUs are read: the local poller's source, or the remote nvidia-smi or exporter.
  gpu_source: z.enum(["nvidia-smi", "replay", "off", "dcgm-exporter"]),
  sampled_at: z.string().nullable(),
  gpus: gpuSnapshotSchema.shape.gpus,
  cost_per_hour: z.number().nullable(),
  models: z.array(z.string()),
  // GPUs billed while idle (under AFS_IDLE_UTIL_PERCENT for AFS_IDLE_MINUTES): since when, and
  // what each costs per hour.
  idle_gpus: z.array(z.object({ index: z.number().int(), since: z.string(), usd_per_hour: z.number() })),
  // A host read over SSH with `runs`: the run files copied from it, the bytes copied since this
  // process started, the last complete pass, and why the last pass failed, if it did.
  runs: z.object({ files: z.number().int(), bytes_read: z.number().int(), last_sync: z.string().nullable(), error: z.string().nullable() }).optional(),
});
export type Host = z.infer<typeof hostSchema>;

export const hostsResponseSchema = z.object({ hosts: z.array(hostSchema), timestamp: z.string() });
export type HostsResponse = z.infer<typeof hostsResponseSchema>;

// GET /api/costs/timeline?range=: each model's cumulative spend at the end of each period.
export const costTimelineResponseSchema = z.object({
  range: z.enum(["1h", "24h", "7d", "30d"]),
  period_seconds: z.number().int(),
  metrics: z.array(z.object({ timestamp: z.string(), model: z.string(), cost_usd: z.number() })),
  warnings: warningsSchema,
});
export type CostTimelineResponse = z.infer<typeof costTimelineResponseSchema>;

// GET /api/billing/instances: the vast.ai instances as last polled and what each accrued.
// off: no AFS_VASTAI_API_KEY; auth_failed: vast.ai refuses the key; error: the last poll failed
// (the instances are the last known ones, and `stale`).
export const billingInstanceSchema = z.object({
  id: z.number().int(),
  label: z.string().nullable(),
  state: z.string(),
  dph_total: z.number().nullable(),
  storage_total_cost: z.number().nullable(),
  // vast's own start (unix seconds) and when this dashboard first saw it (ISO): only the time
  // since is charged.
  start_date: z.number().nullable(),
  observed_since: z.string(),
  accrued_usd: z.number(),
  num_gpus: z.number().int().nullable(),
  gpu_name: z.string().nullable(),
  models: z.array(z.string()),
  destroyed_at: z.string().optional(),
});
export const billingInstancesResponseSchema = z.object({
  state: z.enum(["off", "ok", "auth_failed", "error"]),
  reason: z.string().optional(),
  last_polled: z.string().nullable(),
  stale: z.boolean(),
  instances: z.array(billingInstanceSchema),
  warnings: warningsSchema,
});
export type BillingInstancesResponse = z.infer<typeof billingInstancesResponseSchema>;

// GET /api/alerts: firing alerts first, then those of the last 24 h; `firing` counts the first.
export const alertDeliverySchema = z.object({
  channel: z.string(),
  // pending: not tried yet; retrying: tried, will be again; failed: gave up (24 h, or refused);
  // broken: the channel cannot work until fixed.
  state: z.enum(["pending", "delivered", "retrying", "failed", "broken"]),
  attempts: z.number().int(),
  last_error: z.string().optional(),
});
export const alertSchema = z.object({
  rule: z.string(),
  subject: z.string(),
  state: z.enum(["pending", "firing", "resolved"]),
  since: z.string(),
  resolved_at: z.string().optional(),
  message: z.string(),
  deliveries: z.array(alertDeliverySchema),
});
export const alertsResponseSchema = z.object({ alerts: z.array(alertSchema), firing: z.number().int(), warnings: warningsSchema });
export type AlertsResponse = z.infer<typeof alertsResponseSchema>;

// POST /api/alerts/test {channel}: the result of one test message.
export const alertTestBodySchema = z.strictObject({ channel: z.string().min(1).max(200) });
export const alertTestResponseSchema = z.object({ channel: z.string(), state: z.enum(["delivered", "retry", "broken", "failed"]), error: z.string().optional() });
