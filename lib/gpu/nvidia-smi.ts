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

export type NvidiaSmiFeed = { stop: () => Promise<void>; stats: () => NvidiaSmiStats; kick: () => void };

// How one nvidia-smi run ended: its exit, or a failure to start it at all.
export type QueryEnd = { code: number | null; signal: string | null } | { failed: GpuStatus; reason: string };

// A running long-lived query; kill ends it (and what a wrapper script started).
export type RunningQuery = { pid: number | null; kill: () => void };

// Where nvidia-smi runs: a child process here, or a command on a remote host over SSH.
export type NvidiaSmiRunner = {
  // For messages: the binary, and where it runs.
  name: string;
  // Starts `nvidia-smi <args>`; each chunk of output arrives as its complete lines. `end` may be
  // called more than once (a spawn failure's error and close, a remote run given up on that
  // reports later): the first call counts, and nothing that run says after it is read.
  stream: (args: string[], on: { lines: (lines: string[]) => void; stderr: (text: string) => void; end: (end: QueryEnd) => void }) => RunningQuery;
  // A one-shot query's output; rejects when it fails or does not finish within timeoutMs.
  query: (args: string[], timeoutMs: number) => Promise<string>;
};

const SILENT_INTERVALS = 5;
const STOP_WAIT_MS = 3000;
const APPS_TIMEOUT_MS = 10_000;
// Messages that mean "no usable GPU here" rather than "something broke".
const NO_GPU = /couldn't communicate with the NVIDIA driver|No devices were found|Failed to initialize NVML|NVML Shared Library Not Found/i;
// A shell's "command not found".
const NOT_FOUND = 127;
// nvidia-smi prints wall-clock time without a zone, in the zone of the host it runs on (rented
// boxes mostly run UTC): the whole quarter-hours between its clock and ours are that difference.
const ZONE_STEP_MS = 15 * 60_000;

// Keeps one `nvidia-smi --query-gpu ... -lms` running and pushes its readings into the state:
// restarts it with backoff when it exits, kills it when it falls silent, and asks for the
// process list every appsIntervalMs. Locally it is a child process (NVIDIA_SMI).
export function startNvidiaSmi({ options, state, runner = localRunner(options.nvidiaSmi) }: { options: NvidiaSmiOptions; state: LatestReadings; runner?: NvidiaSmiRunner }): NvidiaSmiFeed {
  const supervisor = new NvidiaSmiSupervisor(options, state, runner);
  supervisor.start();
  return supervisor;
}

class NvidiaSmiSupervisor implements NvidiaSmiFeed {
  private child: RunningQuery | null = null;
  private childEnded: Promise<void> = Promise.resolve();
  private queryingApps = false;
  private fields: readonly string[] = GPU_QUERY_FIELDS;
  private lastLineAt = 0;
  private readingsThisRun = 0;
  private zoneOffsetMs: number | null = null;
  private attempt = 0;
  private restarts = 0;
  private killedWhy = "";
  private readonly timers: NodeJS.Timeout[] = [];
  private restartTimer: NodeJS.Timeout | null = null;
  private stopped = false;

  constructor(
    private readonly opts: NvidiaSmiOptions,
    private readonly state: LatestReadings,
    private readonly runner: NvidiaSmiRunner,
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
    this.child?.kill();
    // A remote command on a link that just died may never report its end.
    await Promise.race([this.childEnded, new Promise((resolve) => setTimeout(resolve, STOP_WAIT_MS).unref())]);
  }

  // Starts again now, without waiting out the backoff (a remote host that is back online).
  kick() {
    if (!this.restartTimer) return;
    clearTimeout(this.restartTimer);
    this.attempt = 0;
    this.restarts++;
    this.spawnChild();
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
    // Never two at once: a restart is only scheduled once the previous run has ended.
    if (this.stopped || this.child) return;
    this.fields = GPU_QUERY_FIELDS;
    this.lastLineAt = Date.now();
    this.readingsThisRun = 0;
    this.zoneOffsetMs = null;
    this.killedWhy = "";
    let lastFailure = "";
    let stderr = "";
    let ended = () => {};
    let over = false;
    this.childEnded = new Promise((resolve) => (ended = resolve));
    const child = this.runner.stream([`--query-gpu=${GPU_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits", "-lms", String(this.opts.intervalMs)], {
      lines: (lines) => {
        if (over) return;
        for (const line of lines) lastFailure = this.handleLine(line) ?? lastFailure;
        this.state.emit();
      },
      stderr: (text) => {
        stderr = (stderr + text).slice(-2000);
      },
      end: (end) => {
        if (over) return;
        over = true;
        ended();
        if ("failed" in end) return this.childGone(child, end.failed, end.reason);
        if (this.killedWhy) return this.childGone(child, "error", this.killedWhy);
        const message = lastFailure || stderr.trim().split("\n").at(-1) || "";
        const exit = `${this.runner.name} exited (${end.signal ?? `code ${end.code}`})${message ? `: ${message}` : ""}`;
        const noGpu = this.readingsThisRun === 0 && (NO_GPU.test(message) || end.code === NOT_FOUND);
        this.childGone(child, noGpu ? "unavailable" : "error", exit);
      },
    });
    this.child = child;
  }

  private childGone(child: RunningQuery, status: GpuStatus, reason: string) {
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
      this.state.addReading({ at: this.toOurClock(parsed.timestamp), reading: parsed.reading });
    } else {
      const pinned = parsed.bus_id ? this.state.failGpu({ busId: parsed.bus_id, message: parsed.message }) : false;
      if (!pinned) this.state.setStatus({ status: "error", reason: parsed.message });
      return parsed.message;
    }
  }

  private toOurClock(timestamp: number | null): number {
    const now = Date.now();
    if (timestamp === null) return now;
    this.zoneOffsetMs ??= Math.round((now - timestamp) / ZONE_STEP_MS) * ZONE_STEP_MS;
    return timestamp + this.zoneOffsetMs;
  }

  private checkSilence() {
    const child = this.child;
    if (!child) return;
    const limit = SILENT_INTERVALS * this.opts.intervalMs;
    const allowed = this.readingsThisRun > 0 ? limit : Math.max(limit, this.opts.startupGraceMs);
    const silentFor = Date.now() - this.lastLineAt;
    if (silentFor <= allowed || this.killedWhy) return;
    this.killedWhy = `${this.runner.name} printed nothing for ${silentFor} ms; killed it`;
    child.kill();
  }

  // Which process holds which GPU's memory: a one-shot query, skipped while the previous one runs.
  private queryApps() {
    if (this.queryingApps || this.stopped || this.state.status === "unavailable") return;
    this.queryingApps = true;
    this.runner
      .query([`--query-compute-apps=${APPS_QUERY_FIELDS.join(",")}`, "--format=csv,noheader,nounits"], APPS_TIMEOUT_MS)
      // A failed query leaves no trustworthy process list; the GPU stream reports the fault.
      .then((stdout) => parseComputeApps({ text: stdout }), () => [])
      .then((apps) => {
        this.queryingApps = false;
        if (this.stopped) return;
        this.state.setApps({ apps });
        this.state.emit();
      });
  }
}

// nvidia-smi as a child process in its own process group, so a kill also reaches what a wrapper
// script (NVIDIA_SMI) started; a kill is SIGTERM, then SIGKILL if it is still there after 2 s.
function localRunner(binary: string): NvidiaSmiRunner {
  return {
    name: "nvidia-smi",
    stream: (args, on) => {
      const child = spawn(binary, args, { stdio: ["ignore", "pipe", "pipe"], detached: true });
      let partial = "";
      child.stdout!.setEncoding("utf8");
      child.stdout!.on("data", (chunk: string) => {
        const lines = (partial + chunk).split("\n");
        partial = lines.pop()!;
        on.lines(lines);
      });
      child.stderr!.setEncoding("utf8");
      child.stderr!.on("data", on.stderr);
      // A spawn failure (missing binary) emits "error" and maybe "close".
      child.on("error", (err: NodeJS.ErrnoException) => {
        if (child.pid !== undefined) return;
        const missing = err.code === "ENOENT" || err.code === "EACCES";
        on.end(missing ? { failed: "unavailable", reason: `${binary} not found or not executable (${err.code}); set NVIDIA_SMI to its path` } : { failed: "error", reason: err.message });
      });
      child.on("close", (code, signal) => on.end({ code, signal }));
      return {
        pid: child.pid ?? null,
        kill: () => {
          if (child.exitCode !== null || child.signalCode !== null) return;
          killGroup(child, "SIGTERM");
          setTimeout(() => killGroup(child, "SIGKILL"), 2000).unref();
        },
      };
    },
    query: (args, timeoutMs) =>
      new Promise((resolve, reject) => {
        execFile(binary, args, { timeout: timeoutMs, killSignal: "SIGKILL" }, (err, stdout) => (err ? reject(err) : resolve(stdout)));
      }),
  };
}

function killGroup(child: ChildProcess, signal: NodeJS.Signals) {
  try {
    process.kill(-child.pid!, signal);
  } catch {
    child.kill(signal);
  }
}
