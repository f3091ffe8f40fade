import { z } from "zod";
import { SERIES_NAMES } from "./series";

export const MODEL_STATUSES = ["pending", "running", "paused", "completed", "failed"] as const;
export const DEPLOYMENT_STATUSES = ["none", "staging", "ready", "deployed"] as const;

// Long enough for any real name, short enough that a runaway value cannot bloat every answer.
const text = z.string().min(1).max(200);

export const modelKeySchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must match ^[a-z0-9][a-z0-9_-]{0,63}$");
export const modelStatusValueSchema = z.enum(MODEL_STATUSES);
export type ModelStatusValue = z.infer<typeof modelStatusValueSchema>;
export const deploymentStatusSchema = z.enum(DEPLOYMENT_STATUSES);
export const progressSchema = z.number().min(0).max(100);

// A model's entry. Only key and name are required: a run folder can supply status and progress.
export const modelConfigSchema = z.strictObject({
  key: modelKeySchema,
  name: text,
  base_model: text.optional(),
  status: modelStatusValueSchema.default("pending"),
  progress: progressSchema.default(0),
  gpu_hours: z.number().nonnegative().optional(),
  // Unset: the session's default_cost_per_hour, else 0 with a warning.
  cost_per_hour: z.number().nonnegative().optional(),
  num_gpus: z.number().int().positive().default(1),
  gpu_type: text.optional(),
  deployment_status: deploymentStatusSchema.default("none"),
  artifacts: z.string().min(1).max(1024).optional(),
  // Per-series tag aliases for this model's run files, replacing the defaults of the series named.
  metrics: z.partialRecord(z.enum(SERIES_NAMES), z.array(text).min(1).max(20)).optional(),
});

export const sessionConfigSchema = z.strictObject({
  name: text.default("AFS Training"),
  started_at: z.iso.datetime({ offset: true }).optional(),
  budget_usd: z.number().nonnegative().optional(),
  currency: z.string().min(1).max(16).default("USD"),
  default_cost_per_hour: z.number().nonnegative().optional(),
});

// The config as the dashboard uses it: every field resolved, and per model the fields that were
// invalid in the file (each shown at its default).
export type SessionConfig = z.infer<typeof sessionConfigSchema>;
export type ModelConfig = Omit<z.infer<typeof modelConfigSchema>, "cost_per_hour"> & { cost_per_hour: number; config_errors: string[] };
export type AfsConfig = { session: SessionConfig; models: ModelConfig[] };

// One evaluation result file: the model it scores, a score in [0, 1], when, and any other metrics.
export const evaluationSchema = z.looseObject({
  model_key: modelKeySchema,
  score: z.number().min(0).max(1),
  evaluated_at: z.iso.datetime({ offset: true }),
});
export type Evaluation = z.infer<typeof evaluationSchema>;
