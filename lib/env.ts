import "server-only";
import path from "node:path";
import { z } from "zod";

const envSchema = z.object({
  AFS_DATA_DIR: z.string().min(1).default("./data"),
  AFS_DB: z.string().min(1).optional(),
  AFS_API_TOKEN: z.string().min(1).optional(),
  AFS_VIEWER_TOKEN: z.string().min(1).optional(),
  AFS_REFRESH_SECONDS: z.coerce.number().int().positive().default(30),
  AFS_STALE_MINUTES: z.coerce.number().positive().default(10),
  AFS_RESCAN_SECONDS: z.coerce.number().positive().default(10),
  AFS_WATCH: z.enum(["on", "off"]).default("on"),
  AFS_GPU_SOURCE: z
    .string()
    .regex(/^(nvidia-smi|off|replay:.+)$/, 'expected "nvidia-smi", "off" or "replay:<file>"')
    .default("nvidia-smi"),
  AFS_GPU_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  NVIDIA_SMI: z.string().min(1).default("nvidia-smi"),
  AFS_RETENTION_RAW_HOURS: z.coerce.number().positive().default(48),
  AFS_RETENTION_AGG_DAYS: z.coerce.number().positive().default(90),
  AFS_MAX_LINE_BYTES: z.coerce.number().int().positive().default(16 << 20),
  AFS_MAX_JSON_BYTES: z.coerce.number().int().positive().default(64 << 20),
  AFS_MAX_RUN_FILES: z.coerce.number().int().positive().default(10_000),
  AFS_MAX_MODELS: z.coerce.number().int().positive().default(1000),
});

export type GpuSourceSetting = "nvidia-smi" | "off" | `replay:${string}`;

export type Env = {
  dataDir: string;
  dbPath: string;
  apiToken?: string;
  viewerToken?: string;
  refreshSeconds: number;
  staleMs: number;
  rescanMs: number;
  watch: boolean;
  gpu: { source: GpuSourceSetting; intervalMs: number; nvidiaSmi: string; rawRetentionMs: number; aggRetentionMs: number };
  // What one data file may cost: longer lines are skipped unread, larger JSON documents refused.
  limits: { lineBytes: number; jsonBytes: number; runFiles: number; models: number };
};

// Parsed on each call rather than frozen at import: it costs microseconds, and tests point
// one process at many data dirs. Invalid values still fail loudly with the variable's name.
export function getEnv(): Env {
  const parsed = envSchema.safeParse(process.env);
  if (!parsed.success) {
    throw new Error(`Invalid environment: ${z.prettifyError(parsed.error)}`);
  }
  // turbopackIgnore: these paths are chosen at run time; tracing them would copy the whole project.
  const dataDir = path.resolve(/*turbopackIgnore: true*/ parsed.data.AFS_DATA_DIR);
  return {
    dataDir,
    dbPath: path.resolve(/*turbopackIgnore: true*/ parsed.data.AFS_DB ?? path.join(dataDir, ".afs", "afs.db")),
    apiToken: parsed.data.AFS_API_TOKEN,
    viewerToken: parsed.data.AFS_VIEWER_TOKEN,
    refreshSeconds: parsed.data.AFS_REFRESH_SECONDS,
    staleMs: parsed.data.AFS_STALE_MINUTES * 60_000,
    rescanMs: parsed.data.AFS_RESCAN_SECONDS * 1000,
    watch: parsed.data.AFS_WATCH === "on",
    gpu: {
      source: parsed.data.AFS_GPU_SOURCE as GpuSourceSetting,
      intervalMs: parsed.data.AFS_GPU_INTERVAL_MS,
      nvidiaSmi: parsed.data.NVIDIA_SMI,
      rawRetentionMs: parsed.data.AFS_RETENTION_RAW_HOURS * 3_600_000,
      aggRetentionMs: parsed.data.AFS_RETENTION_AGG_DAYS * 86_400_000,
    },
    limits: {
      lineBytes: parsed.data.AFS_MAX_LINE_BYTES,
      jsonBytes: parsed.data.AFS_MAX_JSON_BYTES,
      runFiles: parsed.data.AFS_MAX_RUN_FILES,
      models: parsed.data.AFS_MAX_MODELS,
    },
  };
}
