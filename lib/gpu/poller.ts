import "server-only";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { insertGpuSamples, toSampleRow, type GpuSampleRow } from "@/lib/store/gpu-samples";
import { getEnv, type GpuSourceSetting } from "@/lib/env";
import { APPS_QUERY_FIELDS, GPU_QUERY_FIELDS, parseComputeApps, parseGpuLine } from "./parse";
import { startGpuReplay } from "./replay";
import type { ComputeApp, GpuReading, GpuSnapshot, GpuSourceKind, GpuStatus } from "./types";

export type GpuPollerOptions = {
  source: GpuSourceSetting;
  nvidiaSmi: string;
  intervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  appsIntervalMs: number;
  flushIntervalMs: number;
  // How long a fresh child may take to print its first line: NVML start-up on a many-GPU host
  // without persistence mode takes seconds, longer than 5 intervals.
  startupGraceMs: number;
};

export type GpuSnapshotListener = (snapshot: GpuSnapshot) => void;

const SILENT_INTERVALS = 5;
const APPS_TIMEOUT_MS = 10_000;
// Messages that mean "no usable GPU here" rather than "something broke".
const NO_GPU = /couldn't communicate with the NVIDIA driver|No devices were found|Failed to initialize NVML|NVML Shared Library Not Found/i;

class GpuPoller {
  private status: GpuStatus = "starting";
  private reason: string | undefined;
  private readonly gpus = new Map<number, GpuReading>();
  private sampledAt: number | null = null;
  private apps: ComputeApp[] = [];
  private child: ChildProcess | null = null;
  private appsChild: ChildProcess | null = null;
  private fields: readonly string[] = GPU_QUERY_FIELDS;
  private lastLineAt = 0;
  private readingsThisRun = 0;
  private attempt = 0;
  private restarts = 0;
  private killedWhy = "";
  private pending: GpuSampleRow[] = [];
  private readonly timers: NodeJS.Timeout[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private replay: { stop: () => void } | null = null;
  private stopped = false;
  readonly source: GpuSourceKind;

  constructor(
    private readonly opts: GpuPollerOptions,
    private readonly notify: (snapshot: GpuSnapshot) => void,
  ) {
    this.source = opts.source === "off" ? "off" : opts.source === "nvidia-smi" ? "nvidia-smi" : "replay";
  }

  start() {
    if (this.source === "off") {
      this.status = "off";
      return;
    }
    this.every(this.opts.flushIntervalMs, () => this.flush());
    if (this.source === "replay") return this.startReplay(this.opts.source.slice("replay:".length));
    this.every(this.opts.intervalMs, () => this.checkSilence());
    this.every(this.opts.appsIntervalMs, () => this.queryApps());
    this.spawnChild();
    this.queryApps();
  }

  async stop() {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.replay?.stop();
    this.appsChild?.kill("SIGKILL");
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        killGroup(child, "SIGTERM");
        setTimeout(() => killGroup(child, "SIGKILL"), 2000).unref();
      });
    }
    this.flush();
  }

  snapshot(): GpuSnapshot {
    return {
      source: this.source,
      status: this.status,
      ...(this.reason ? { reason: this.reason } : {}),
      sampled_at: this.sampledAt === null ? null : new Date(this.sampledAt).toISOString(),
      gpus: [...this.gpus.values()]
        .sort((a, b) => a.index - b.index)
        .map((gpu) => ({
          ...gpu,
          processes: this.apps.filter((a) => a.gpu_uuid === gpu.uuid).map(({ pid, name, used_memory_mb }) => ({ pid, name, used_memory_mb })),
        })),
    };
  }

  stats() {
    return {
      pid: this.child?.pid ?? null,
      restarts: this.restarts,
      last_line_at: this.lastLineAt ? new Date(this.lastLineAt).toISOString() : null,
    };
  }

  private every(ms: number, fn: () => void) {
    const t = setInterval(fn, ms);
    t.unref();
    this.timers.push(t);
  }

  private setStatus(status: GpuStatus, reason?: string) {
    this.status = status;
    this.reason = reason;
  }

  private startReplay(file: string) {
    try {
      this.replay = startGpuReplay({
        path: path.resolve(file),
        onTick: ({ timestamp, readings }) => {
          for (const reading of readings) this.ingest(timestamp, reading);
          this.setStatus("ok");
          this.emit();
        },
      });
    } catch (err) {
      this.setStatus("unavailable", `replay: ${(err as Error).message}`);
    }
  }

  private spawnChild() {
    this.restartTimer = null;
    // Never two children: a restart is only scheduled once the previous child has closed.
    if (this.stopped || this.child) return;
    const child = spawn(
      this.opts.nvidiaSmi,
      [`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits", "-lms", String(this.opts.intervalMs)],
      // Its own process group, so a kill also reaches what a wrapper script (NVIDIA_SMI) started.
      { stdio: ["ignore", "pipe", "pipe"], detached: true },
    );
    this.child = child;
    this.fields = GPU_QUERY_FIELDS;
    this.lastLineAt = Date.now();
    this.readingsThisRun = 0;
    this.killedWhy = "";
    let partial = "";
    let lastFailure = "";
    let stderr = "";
    child.stdout!.setEncoding("utf8");
    child.stdout!.on("data", (chunk: string) => {
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!;
      for (const line of lines) lastFailure = this.handleLine(line) ?? lastFailure;
      this.emit();
    });
    child.stderr!.setEncoding("utf8");
    child.stderr!.on("data", (chunk: string) => {
      stderr = (stderr + chunk).slice(-2000);
    });
    // A spawn failure (missing binary) emits "error" and maybe "close"; whichever comes first wins.
    child.on("error", (err: NodeJS.ErrnoException) => {
      if (child.pid !== undefined) return;
      const missing = err.code === "ENOENT" || err.code === "EACCES";
      this.childGone(child, missing ? "unavailable" : "error", missing ? `${this.opts.nvidiaSmi} not found or not executable (${err.code}); set NVIDIA_SMI to its path` : err.message);
    });
    child.on("close", (code, signal) => {
      if (this.killedWhy) return this.childGone(child, "error", this.killedWhy);
      const message = lastFailure || stderr.trim().split("\n").at(-1) || "";
      const exit = `nvidia-smi exited (${signal ?? `code ${code}`})${message ? `: ${message}` : ""}`;
      this.childGone(child, this.readingsThisRun === 0 && NO_GPU.test(message) ? "unavailable" : "error", exit);
    });
  }

  private childGone(child: ChildProcess, status: GpuStatus, reason: string) {
    if (this.child !== child) return;
    this.child = null;
    if (this.stopped) return;
    const delay = Math.min(this.opts.backoffBaseMs * 2 ** this.attempt, this.opts.backoffMaxMs);
    this.attempt++;
    this.setStatus(status, `${reason}; retrying in ${delay} ms`);
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.spawnChild();
    }, delay);
    this.restartTimer.unref();
    this.emit();
  }

  // Returns the message of a failure line, so an exit can say why.
  private handleLine(line: string): string | undefined {
    this.lastLineAt = Date.now();
    const parsed = parseGpuLine({ line, fields: this.fields });
    if (!parsed) return;
    if (parsed.kind === "header") {
      this.fields = parsed.fields;
    } else if (parsed.kind === "reading") {
      this.readingsThisRun++;
      this.attempt = 0;
      this.setStatus("ok");
      this.ingest(parsed.timestamp ?? Date.now(), parsed.reading);
    } else {
      const gpu = parsed.bus_id ? [...this.gpus.values()].find((g) => g.bus_id === parsed.bus_id) : undefined;
      if (gpu) this.ingest(Date.now(), failedReading(gpu, parsed.message));
      else this.setStatus("error", parsed.message);
      return parsed.message;
    }
  }

  private ingest(at: number, reading: GpuReading) {
    this.gpus.set(reading.index, reading);
    this.sampledAt = Math.max(this.sampledAt ?? at, at);
    this.pending.push(toSampleRow({ at, reading }));
  }

  private checkSilence() {
    const child = this.child;
    if (!child) return;
    const limit = SILENT_INTERVALS * this.opts.intervalMs;
    const allowed = this.readingsThisRun > 0 ? limit : Math.max(limit, this.opts.startupGraceMs);
    const silentFor = Date.now() - this.lastLineAt;
    if (silentFor <= allowed || this.killedWhy) return;
    this.killedWhy = `nvidia-smi printed nothing for ${silentFor} ms; killed it`;
    killGroup(child, "SIGKILL");
  }

  // Which process holds which GPU's memory: a one-shot query, skipped while the previous one runs.
  private queryApps() {
    if (this.appsChild || this.stopped || this.status === "unavailable") return;
    this.appsChild = execFile(
      this.opts.nvidiaSmi,
      [`--query-compute-apps=${APPS_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"],
      { timeout: APPS_TIMEOUT_MS, killSignal: "SIGKILL" },
      (err, stdout) => {
        this.appsChild = null;
        if (this.stopped) return;
        // A failed query leaves no trustworthy process list; the GPU stream reports the fault.
        this.apps = err ? [] : parseComputeApps({ text: stdout });
        this.emit();
      },
    );
  }

  private flush() {
    if (this.pending.length === 0) return;
    const samples = this.pending;
    this.pending = [];
    try {
      insertGpuSamples({ samples });
    } catch (err) {
      console.error("[afs] gpu samples not stored:", err);
    }
  }

  private emit() {
    this.notify(this.snapshot());
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}

function failedReading(gpu: GpuReading, message: string): GpuReading {
  return {
    ...gpu,
    pstate: null,
    utilization: null,
    memory_utilization: null,
    memory_used_mb: null,
    temperature_c: null,
    power_w: null,
    sm_clock_mhz: null,
    mem_clock_mhz: null,
    fan_percent: null,
    error: message,
  };
}

// One poller per server process, on globalThis so dev hot reload does not start a second child.
const g = globalThis as typeof globalThis & { __afsGpuPoller?: GpuPoller; __afsGpuListeners?: Set<GpuSnapshotListener> };
const listeners = (g.__afsGpuListeners ??= new Set());

// Starts the configured source (AFS_GPU_SOURCE) unless one is already running; options
// override the environment (tests use short intervals and backoff).
export function startGpuPoller(options: Partial<GpuPollerOptions> = {}): void {
  if (g.__afsGpuPoller) return;
  const config = getEnv().gpu;
  const poller = new GpuPoller(
    {
      source: config.source,
      nvidiaSmi: config.nvidiaSmi,
      intervalMs: config.intervalMs,
      backoffBaseMs: 1000,
      backoffMaxMs: 60_000,
      appsIntervalMs: 5000,
      flushIntervalMs: 1000,
      startupGraceMs: 15_000,
      ...options,
    },
    (snapshot) => {
      for (const listener of listeners) {
        try {
          listener(snapshot);
        } catch (err) {
          console.error("[afs] gpu snapshot listener failed:", err);
        }
      }
    },
  );
  g.__afsGpuPoller = poller;
  poller.start();
}

// Ends the child (or replay), writes the samples not yet stored, and forgets the poller.
export async function stopGpuPoller(): Promise<void> {
  const poller = g.__afsGpuPoller;
  g.__afsGpuPoller = undefined;
  await poller?.stop();
}

export function getGpuSnapshot(): GpuSnapshot {
  const poller = g.__afsGpuPoller;
  if (poller) return poller.snapshot();
  const { source } = getEnv().gpu;
  return { source: source === "off" || source === "nvidia-smi" ? source : "replay", status: "stopped", sampled_at: null, gpus: [] };
}

// Called with a fresh snapshot after every batch of lines and on every status change.
export function subscribeGpuSnapshots(listener: GpuSnapshotListener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

// For health checks and tests: the nvidia-smi child's pid, how often it was restarted, and when it last printed.
export function getGpuPollerStats(): { pid: number | null; restarts: number; last_line_at: string | null } {
  return g.__afsGpuPoller?.stats() ?? { pid: null, restarts: 0, last_line_at: null };
}
