import "server-only";
import { z } from "zod";

export type GpuSourceSetting = "nvidia-smi" | "off" | `replay:${string}`;

const gpuEnvSchema = z.object({
  AFS_GPU_SOURCE: z
    .string()
    .regex(/^(nvidia-smi|off|replay:.+)$/, 'expected "nvidia-smi", "off" or "replay:<file>"')
    .default("nvidia-smi"),
  AFS_GPU_INTERVAL_MS: z.coerce.number().int().min(50).default(1000),
  NVIDIA_SMI: z.string().min(1).default("nvidia-smi"),
  AFS_RETENTION_RAW_HOURS: z.coerce.number().positive().default(48),
  AFS_RETENTION_AGG_DAYS: z.coerce.number().positive().default(90),
});

export type GpuConfig = {
  source: GpuSourceSetting;
  intervalMs: number;
  nvidiaSmi: string;
  rawRetentionMs: number;
  aggRetentionMs: number;
};

// Read per call like getEnv(), so tests can point one process at different settings.
export function getGpuConfig(): GpuConfig {
  const parsed = gpuEnvSchema.safeParse(process.env);
  if (!parsed.success) throw new Error(`Invalid environment: ${z.prettifyError(parsed.error)}`);
  const env = parsed.data;
  return {
    source: env.AFS_GPU_SOURCE as GpuSourceSetting,
    intervalMs: env.AFS_GPU_INTERVAL_MS,
    nvidiaSmi: env.NVIDIA_SMI,
    rawRetentionMs: env.AFS_RETENTION_RAW_HOURS * 3_600_000,
    aggRetentionMs: env.AFS_RETENTION_AGG_DAYS * 86_400_000,
  };
}
