import "server-only";
import { execFile, spawn, type ChildProcess } from "node:child_process";
import type { LatestReadings } from "./latest-readings";
import { APPS_QUERY_FIELDS, GPU_QUERY_FIELDS, parseComputeApps, parseGpuLine } from "./parse";
import type { GpuStatus } from "./types";

export type NvidiaSmiOptions = {
  nvidiaSmi: string;
  intervalMs: number;
  backoffBaseMs: number;
  backoffMaxMs: number;
  appsIntervalMs: number;
  // How long a fresh child may take to print its first line: NVML start-up on a many-GPU host
  // without persistence mode takes seconds, longer than 5 intervals.
  startupGraceMs: number;
};

// The nvidia-smi child's pid, how often it was restarted, and when it last printed.
export type NvidiaSmiStats = { pid: number | null; restarts: number; last_line_at: string | null };

export type NvidiaSmiFeed = { stop: () => Promise<void>; stats: () => NvidiaSmiStats };

const SILENT_INTERVALS = 5;
const APPS_TIMEOUT_MS = 10_000;
// Messages that mean "no usable GPU here" rather than "something broke".
const NO_GPU = /couldn't communicate with the NVIDIA driver|No devices were found|Failed to initialize NVML|NVML Shared Library Not Found/i;

// Keeps one `nvidia-smi --query-gpu ... -lms` child running and pushes its readings into the
// state: restarts it with backoff when it exits, kills it when it falls silent, and asks for
// the process list every appsIntervalMs.
export function startNvidiaSmi({ options, state }: { options: NvidiaSmiOptions; state: LatestReadings }): NvidiaSmiFeed {
  const supervisor = new NvidiaSmiSupervisor(options, state);
  supervisor.start();
  return supervisor;
}

class NvidiaSmiSupervisor implements NvidiaSmiFeed {
  private child: ChildProcess | null = null;
  private appsChild: ChildProcess | null = null;
  private fields: readonly string[] = GPU_QUERY_FIELDS;
  private lastLineAt = 0;
  private readingsThisRun = 0;
  private attempt = 0;
  private restarts = 0;
  private killedWhy = "";
  private readonly timers: NodeJS.Timeout[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly opts: NvidiaSmiOptions,
    private readonly state: LatestReadings,
  ) {}

  start() {
    this.every(this.opts.intervalMs, () => this.checkSilence());
    this.every(this.opts.appsIntervalMs, () => this.queryApps());
    this.spawnChild();
    this.queryApps();
  }

  async stop() {
    this.stopped = true;
    for (const t of this.timers) clearInterval(t);
    if (this.restartTimer) clearTimeout(this.restartTimer);
    this.appsChild?.kill("SIGKILL");
    const child = this.child;
    if (child && child.exitCode === null && child.signalCode === null) {
      await new Promise<void>((resolve) => {
        child.once("exit", () => resolve());
        killGroup(child, "SIGTERM");
        setTimeout(() => killGroup(child, "SIGKILL"), 2000).unref();
      });
    }
  }

  stats(): NvidiaSmiStats {
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
      this.state.emit();
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
    this.state.setStatus({ status, reason: `${reason}; retrying in ${delay} ms` });
    this.restartTimer = setTimeout(() => {
      this.restarts++;
      this.spawnChild();
    }, delay);
    this.restartTimer.unref();
    this.state.emit();
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
      this.state.setStatus({ status: "ok" });
      this.state.addReading({ at: parsed.timestamp ?? Date.now(), reading: parsed.reading });
    } else {
      const pinned = parsed.bus_id ? this.state.failGpu({ busId: parsed.bus_id, message: parsed.message }) : false;
      if (!pinned) this.state.setStatus({ status: "error", reason: parsed.message });
      return parsed.message;
    }
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
    if (this.appsChild || this.stopped || this.state.status === "unavailable") return;
    this.appsChild = execFile(
      this.opts.nvidiaSmi,
      [`--query-compute-apps=${APPS_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"],
      { timeout: APPS_TIMEOUT_MS, killSignal: "SIGKILL" },
      (err, stdout) => {
        this.appsChild = null;
        if (this.stopped) return;
        // A failed query leaves no trustworthy process list; the GPU stream reports the fault.
        this.state.setApps({ apps: err ? [] : parseComputeApps({ text: stdout }) });
        this.state.emit();
      },
    );
  }
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}
