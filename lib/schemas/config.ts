import { z } from "zod";
import { SERIES_NAMES } from "@/lib/runs/tags";

export const MODEL_STATUSES = ["pending", "running", "paused", "completed", "failed"] as const;
export const DEPLOYMENT_STATUSES = ["none", "staging", "ready", "deployed"] as const;

export const modelKeySchema = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,63}$/, "must match ^[a-z0-9][a-z0-9_-]{0,63}$");
export const modelStatusValueSchema = z.enum(MODEL_STATUSES);
export type ModelStatusValue = z.infer<typeof modelStatusValueSchema>;
export const deploymentStatusSchema = z.enum(DEPLOYMENT_STATUSES);
export const progressSchema = z.number().min(0).max(100);

export const modelConfigSchema = z.strictObject({
  key: modelKeySchema,
  name: z.string().min(1),
  base_model: z.string().optional(),
  status: modelStatusValueSchema,
  progress: progressSchema,
  gpu_hours: z.number().nonnegative().optional(),
  cost_per_hour: z.number().nonnegative(),
  num_gpus: z.number().int().positive().default(1),
  gpu_type: z.string().optional(),
  deployment_status: deploymentStatusSchema.default("none"),
  artifacts: z.string().min(1).optional(),
  // Per-series tag aliases for this model's run files, replacing the defaults of the series named.
  metrics: z.partialRecord(z.enum(SERIES_NAMES), z.array(z.string().min(1)).min(1)).optional(),
});

export const configSchema = z.strictObject({
  session: z.strictObject({
    name: z.string().min(1),
    started_at: z.iso.datetime({ offset: true }).optional(),
    budget_usd: z.number().nonnegative().optional(),
    currency: z.string().min(1).default("USD"),
  }),
  models: z.array(modelConfigSchema).superRefine((models, ctx) => {
    const seen = new Set<string>();
    models.forEach((m, i) => {
      if (seen.has(m.key)) ctx.addIssue({ code: "custom", path: [i, "key"], message: `duplicate key "${m.key}"` });
      seen.add(m.key);
    });
  }),
});

export type ModelConfig = z.infer<typeof modelConfigSchema>;
export type AfsConfig = z.infer<typeof configSchema>;

// One evaluation result file: the model it scores, a score in [0, 1], when, and any other metrics.
export const evaluationSchema = z.looseObject({
  model_key: modelKeySchema,
  score: z.number().min(0).max(1),
  evaluated_at: z.iso.datetime({ offset: true }),
});
export type Evaluation = z.infer<typeof evaluationSchema>;
