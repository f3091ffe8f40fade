import { z } from "zod";
import type { Channel } from "@/lib/alerts/types";
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

// The machine the dashboard runs on: every model's host unless it names another.
export const LOCAL_HOST = "local";
export const hostNameSchema = z.string().regex(/^[a-z0-9][a-z0-9_.-]{0,63}$/, "must match ^[a-z0-9][a-z0-9_.-]{0,63}$");

// `user@host[:port]`; host is a name, an IPv4 address or a bracketed IPv6 one. Neither part may
// start with "-", so no value can ever read as an option to an ssh tool.
const SSH_TARGET = /^([A-Za-z0-9_.][A-Za-z0-9_.-]{0,31})@(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_][A-Za-z0-9_.-]{0,252})(?::(\d{1,5}))?$/;
export const sshTargetSchema = z
  .string()
  .regex(SSH_TARGET, "must be user@host or user@host:port")
  // Zod runs this even when the regex failed: only a port that is there is checked.
  .refine((v) => {
    const port = SSH_TARGET.exec(v)?.[3];
    return port === undefined || (Number(port) >= 1 && Number(port) <= 65535);
  }, "port must be 1-65535");

export function splitSshTarget({ target }: { target: string }): { user: string; host: string; port: number } {
  const m = SSH_TARGET.exec(target);
  if (!m) throw new Error("not an ssh target (user@host[:port])");
  return { user: m[1], host: m[2].replace(/^\[(.*)\]$/, "$1"), port: m[3] ? Number(m[3]) : 22 };
}

const DCGM_PREFIX = "dcgm-exporter:";
export const gpuSourceSchema = z
  .string()
  .max(2048)
  .refine((v) => dcgmExporterUrl({ gpu: v }) !== null, `must be ${DCGM_PREFIX}<http or https URL, no user:password>`);

// The metrics URL of a `gpu: "dcgm-exporter:<url>"` value; null for anything else. A URL with
// user:password is refused: fetch cannot send it, and the config's URL may be shown on screen.
export function dcgmExporterUrl({ gpu }: { gpu: string }): string | null {
  if (!gpu.startsWith(DCGM_PREFIX)) return null;
  const rest = gpu.slice(DCGM_PREFIX.length);
  if (!URL.canParse(rest)) return null;
  const url = new URL(rest);
  if (url.username || url.password) return null;
  return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
}

// A remote host. Exactly one of ssh and gpu says how it is read (checked by the config loader,
// which names the entry in its warnings). nvidia_smi is run in the remote shell, so it is held to
// path characters; runs is only ever an SFTP path.
export const hostConfigSchema = z.strictObject({
  name: hostNameSchema.refine((v) => v !== LOCAL_HOST, `"${LOCAL_HOST}" is the dashboard's own machine`),
  ssh: sshTargetSchema.optional(),
  gpu: gpuSourceSchema.optional(),
  runs: z
    .string()
    .min(1)
    .max(1024)
    .refine((v) => !/[\u0000-\u001f]/.test(v), "must not contain control characters")
    .optional(),
  nvidia_smi: z.string().regex(/^[A-Za-z0-9_./+-]{1,1024}$/, "must be a path (letters, digits, _ . / + -)").default("nvidia-smi"),
  cost_per_hour: z.number().nonnegative().optional(),
});

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
  // A name from `hosts`; one that names no host is read as local, with a warning.
  host: hostNameSchema.default(LOCAL_HOST),
  // The vast.ai instance it trains on, when the instance's label is not the model key.
  vast_instance: z.number().int().positive().optional(),
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

// Alerts: channels say where messages go (secrets only through the environment: url_env names
// the variable holding the webhook URL), rules say when.
export const ALERT_CONDITIONS = ["model_completed", "model_failed", "run_stalled", "gpu_idle", "budget_spent", "host_unreachable", "gpu_temperature", "gpu_error"] as const;
export type AlertCondition = (typeof ALERT_CONDITIONS)[number];
const alertNameSchema = z.string().min(1).max(64);
export const alertChannelSchema = z.strictObject({
  name: alertNameSchema,
  type: z.enum(["slack", "discord", "email", "webhook"]),
  url_env: z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, "must be an environment variable name").optional(),
  to: z.array(z.email()).min(1).max(50).optional(),
});
export const alertRuleSchema = z.strictObject({
  name: alertNameSchema,
  when: z.enum(ALERT_CONDITIONS),
  channels: z.array(alertNameSchema).min(1).max(20),
  // How long the condition must hold before the alert fires.
  for_minutes: z.number().nonnegative().max(10_080).default(0),
  // While firing, send again this often; unset, once.
  repeat_minutes: z.number().positive().max(10_080).optional(),
  // budget_spent: the share of session.budget_usd; gpu_temperature: degrees C.
  threshold_percent: z.number().positive().max(1000).optional(),
  above_c: z.number().min(0).max(200).optional(),
});
export type AlertRule = z.infer<typeof alertRuleSchema>;

// The config as the dashboard uses it: every field resolved, and per model the fields that were
// invalid in the file (each shown at its default).
export type SessionConfig = z.infer<typeof sessionConfigSchema>;
export type ModelConfig = Omit<z.infer<typeof modelConfigSchema>, "cost_per_hour"> & { cost_per_hour: number; config_errors: string[] };
// A host as the dashboard uses it: how it is read (source, with the ssh target or the metrics URL
// resolved), and the fields that were invalid in the file.
export type HostConfig = z.infer<typeof hostConfigSchema> & { source: "ssh" | "dcgm-exporter"; dcgm_url: string | null; config_errors: string[] };
export type AfsConfig = { session: SessionConfig; hosts: HostConfig[]; models: ModelConfig[]; alerts: { channels: Channel[]; rules: AlertRule[] } };

// One evaluation result file: the model it scores, a score in [0, 1], when, and any other metrics.
export const evaluationSchema = z.looseObject({
  model_key: modelKeySchema,
  score: z.number().min(0).max(1),
  evaluated_at: z.iso.datetime({ offset: true }),
});
export type Evaluation = z.infer<typeof evaluationSchema>;
