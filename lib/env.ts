import "server-only";
import path from "node:path";
import { z } from "zod";

// A PostgreSQL URL, checked without ever echoing it: it may carry the password.
const databaseUrl = z.string().superRefine((value, ctx) => {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    ctx.addIssue({ code: "custom", message: "is not a URL (expected postgres://user:password@host:5432/database)" });
    return;
  }
  if (url.protocol !== "postgres:" && url.protocol !== "postgresql:") {
    ctx.addIssue({ code: "custom", message: `must start with postgres:// or postgresql://, not ${url.protocol}//` });
  } else if (!url.hostname && !url.searchParams.get("host")) {
    ctx.addIssue({ code: "custom", message: "names no host" });
  } else if (url.pathname.length <= 1) {
    ctx.addIssue({ code: "custom", message: "names no database (postgres://host:5432/<database>)" });
  }
});

// Every variable the dashboard reads, the server's own (HOST, PORT, AFS_TRUST_PROXY, read by
// scripts/serve.mjs before Next starts) included, so one list says what is accepted.
export const envSchema = z.object({
  HOST: z.string().min(1).optional(),
  PORT: z.coerce.number().int().min(0).max(65535).optional(),
  AFS_TRUST_PROXY: z.string().optional(),
  AFS_DATA_DIR: z.string().min(1).default("./data"),
  AFS_DB: z.string().min(1).optional(),
  DATABASE_URL: databaseUrl.optional(),
  AFS_DB_POOL_MAX: z.coerce.number().int().positive().default(10),
  AFS_DB_STATEMENT_TIMEOUT_MS: z.coerce.number().int().positive().default(5000),
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
  AFS_GPU_BUFFER_SAMPLES: z.coerce.number().int().positive().default(100_000),
  AFS_MAX_LINE_BYTES: z.coerce.number().int().positive().default(16 << 20),
  AFS_MAX_JSON_BYTES: z.coerce.number().int().positive().default(64 << 20),
  AFS_MAX_RUN_FILES: z.coerce.number().int().positive().default(10_000),
  AFS_MAX_MODELS: z.coerce.number().int().positive().default(1000),
  // Remote hosts (lib/hosts/ssh.ts reads them when the fleet starts).
  AFS_SSH_KEY: z.string().min(1).optional(),
  AFS_SSH_KEY_PASSPHRASE: z.string().optional(),
  AFS_SSH_KNOWN_HOSTS: z.string().min(1).optional(),
  AFS_SSH_TOFU: z.enum(["0", "1"]).default("0"),
  SSH_AUTH_SOCK: z.string().optional(),
  // vast.ai billing (lib/billing): on when a key is set.
  AFS_VASTAI_API_KEY: z.string().min(1).optional(),
  AFS_VASTAI_URL: z.url({ protocol: /^https?$/ }).default("https://console.vast.ai"),
  AFS_VASTAI_INTERVAL_SECONDS: z.coerce.number().positive().default(60),
  AFS_VASTAI_SSH: z.enum(["0", "1"]).default("1"),
  // A billed GPU under this utilization for this long is reported as idle.
  AFS_IDLE_UTIL_PERCENT: z.coerce.number().min(0).max(100).default(5),
  AFS_IDLE_MINUTES: z.coerce.number().positive().default(10),
  // Alerts (lib/alerts): the mail server and sender for email channels, the hosts outgoing
  // webhooks may reach despite the SSRF guard, and the dashboard's address for links.
  AFS_SMTP_URL: z.url({ protocol: /^smtps?$/ }).optional(),
  AFS_ALERT_FROM: z.string().min(3).optional(),
  AFS_ALERT_ALLOW_HOSTS: z.string().optional(),
  AFS_PUBLIC_URL: z.url({ protocol: /^https?$/ }).optional(),
});

export type GpuSourceSetting = "nvidia-smi" | "off" | `replay:${string}`;

// SQLite in a file (the default), or a PostgreSQL server shared by several processes.
export type StoreSetting =
  | { engine: "sqlite"; path: string }
  | { engine: "postgres"; url: string; poolMax: number; statementTimeoutMs: number };

export type Env = {
  dataDir: string;
  store: StoreSetting;
  // Where the store is, for logs and /api/health: the file, or the URL without its password.
  storeLabel: string;
  apiToken?: string;
  viewerToken?: string;
  refreshSeconds: number;
  staleMs: number;
  rescanMs: number;
  watch: boolean;
  gpu: { source: GpuSourceSetting; intervalMs: number; nvidiaSmi: string; rawRetentionMs: number; aggRetentionMs: number; bufferSamples: number };
  // What one data file may cost: longer lines are skipped unread, larger JSON documents refused.
  limits: { lineBytes: number; jsonBytes: number; runFiles: number; models: number };
  vastai: { apiKey: string; url: string; intervalMs: number; ssh: boolean } | null;
  idle: { utilPercent: number; ms: number };
  alerts: { smtpUrl: string | null; from: string | null; allowHosts: string[]; publicUrl: string | null };
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
  const dbPath = path.resolve(/*turbopackIgnore: true*/ parsed.data.AFS_DB ?? path.join(dataDir, ".afs", "afs.db"));
  const { DATABASE_URL: url } = parsed.data;
  return {
    dataDir,
    store: url
      ? { engine: "postgres", url, poolMax: parsed.data.AFS_DB_POOL_MAX, statementTimeoutMs: parsed.data.AFS_DB_STATEMENT_TIMEOUT_MS }
      : { engine: "sqlite", path: dbPath },
    storeLabel: url ? withoutPassword(url) : dbPath,
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
      bufferSamples: parsed.data.AFS_GPU_BUFFER_SAMPLES,
    },
    limits: {
      lineBytes: parsed.data.AFS_MAX_LINE_BYTES,
      jsonBytes: parsed.data.AFS_MAX_JSON_BYTES,
      runFiles: parsed.data.AFS_MAX_RUN_FILES,
      models: parsed.data.AFS_MAX_MODELS,
    },
    vastai: parsed.data.AFS_VASTAI_API_KEY
      ? {
          apiKey: parsed.data.AFS_VASTAI_API_KEY,
          url: parsed.data.AFS_VASTAI_URL,
          intervalMs: parsed.data.AFS_VASTAI_INTERVAL_SECONDS * 1000,
          ssh: parsed.data.AFS_VASTAI_SSH === "1",
        }
      : null,
    idle: { utilPercent: parsed.data.AFS_IDLE_UTIL_PERCENT, ms: parsed.data.AFS_IDLE_MINUTES * 60_000 },
    alerts: {
      smtpUrl: parsed.data.AFS_SMTP_URL ?? null,
      from: parsed.data.AFS_ALERT_FROM ?? null,
      allowHosts: (parsed.data.AFS_ALERT_ALLOW_HOSTS ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter(Boolean),
      publicUrl: parsed.data.AFS_PUBLIC_URL?.replace(/\/+$/, "") ?? null,
    },
  };
}

export function withoutPassword(value: string): string {
  const url = new URL(value);
  if (url.password) url.password = "***";
  url.searchParams.delete("password");
  return url.toString();
}
