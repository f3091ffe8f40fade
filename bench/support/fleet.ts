import { execFileSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";

// Helpers for bench/fleet.bench.ts: an 8-GPU capture for the fake nvidia-smi, a wrapper that
// points a remote command at it, CPU time of process trees from /proc (Linux), and an SSE
// client that keeps only what the delay needs.

const ROOT = path.join(__dirname, "..", "..");
export const FAKE_NVIDIA_SMI = path.join(ROOT, "scripts", "fake-nvidia-smi.mjs");
const REAL_CAPTURE = path.join(ROOT, "tests", "fixtures", "nvidia-smi", "stream_500ms.csv");

// The real one-GPU H100 capture laid onto 8 GPUs, for load only: each tick's row repeated for
// indices 0..7, each with its own uuid and PCI bus id; every reading is the real GPU's.
export function writeEightGpuCapture({ file, gpus = 8 }: { file: string; gpus?: number }) {
  const [header, ...rows] = fs.readFileSync(REAL_CAPTURE, "utf8").split("\n").filter((l) => l.trim());
  const names = header.split(", ").map((h) => h.replace(/ \[[^\]]*\]$/, ""));
  const [index, uuid, bus] = ["index", "uuid", "pci.bus_id"].map((n) => names.indexOf(n));
  if (index === -1 || uuid === -1 || bus === -1) throw new Error(`${REAL_CAPTURE}: no index, uuid or pci.bus_id column`);
  const out = [header];
  for (const row of rows) {
    const cells = row.split(", ");
    for (let gpu = 0; gpu < gpus; gpu++) {
      const copy = [...cells];
      copy[index] = String(gpu);
      copy[uuid] = `${cells[uuid].slice(0, -2)}${gpu.toString(16).padStart(2, "0")}`;
      copy[bus] = `00000000:${(0x18 + gpu * 0x10).toString(16).toUpperCase()}:00.0`;
      out.push(copy.join(", "));
    }
  }
  fs.writeFileSync(file, `${out.join("\n")}\n`);
}

// The remote command: environment variables do not travel over SSH, so a script sets the capture
// and runs the fake with this machine's node.
export function writeNvidiaSmiWrapper({ file, capture }: { file: string; capture: string }) {
  fs.writeFileSync(file, `#!/bin/sh\nFAKE_NVIDIA_SMI_CAPTURE='${capture}' exec '${process.execPath}' '${FAKE_NVIDIA_SMI}' "$@"\n`, { mode: 0o755 });
}

// --- /proc ---------------------------------------------------------------------------------------

export const CLK_TCK = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;

// One process: its name, parent, own CPU ticks (utime+stime) and those of its reaped children
// (cutime+cstime), which hold the processes that finished in between.
export type ProcStat = { pid: number; comm: string; ppid: number; own: number; reaped: number; cmdline: string };

export function procStat(pid: number): ProcStat | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    const comm = stat.slice(stat.indexOf("(") + 1, stat.lastIndexOf(")"));
    // Fields after the name: state(3) ppid(4) ... utime(14) stime(15) cutime(16) cstime(17).
    const f = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    const cmdline = fs.readFileSync(`/proc/${pid}/cmdline`, "utf8").replaceAll("\0", " ").trim();
    return { pid, comm, ppid: Number(f[1]), own: Number(f[11]) + Number(f[12]), reaped: Number(f[13]) + Number(f[14]), cmdline };
  } catch {
    return null;
  }
}

function allProcs(): ProcStat[] {
  return fs
    .readdirSync("/proc")
    .filter((n) => /^\d+$/.test(n))
    .map((n) => procStat(Number(n)))
    .filter((p): p is ProcStat => p !== null);
}

// The roots and every process below them, as they are now.
export function procTree({ roots }: { roots: number[] }): Map<number, ProcStat> {
  const procs = allProcs();
  const children = new Map<number, ProcStat[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found = new Map<number, ProcStat>();
  const queue = procs.filter((p) => roots.includes(p.pid));
  while (queue.length) {
    const p = queue.shift()!;
    if (found.has(p.pid)) continue;
    found.set(p.pid, p);
    queue.push(...(children.get(p.pid) ?? []));
  }
  return found;
}

// CPU seconds a tree has used: each live process's own time and that of the children it reaped.
export const treeSeconds = (tree: Map<number, ProcStat>) => [...tree.values()].reduce((s, p) => s + p.own + p.reaped, 0) / CLK_TCK;

// Own CPU seconds, between two snapshots, of the processes alive in both that `pick` selects.
export function ownSecondsBetween(before: Map<number, ProcStat>, after: Map<number, ProcStat>, pick: (p: ProcStat) => boolean): { seconds: number; count: number } {
  let ticks = 0;
  let count = 0;
  for (const [pid, p] of after) {
    const b = before.get(pid);
    if (!b || b.comm !== p.comm || !pick(p)) continue;
    ticks += p.own - b.own;
    count++;
  }
  return { seconds: ticks / CLK_TCK, count };
}

// Busy and total CPU seconds of the whole machine since boot, from /proc/stat.
export function machineSeconds(): { busy: number; total: number } {
  const cpu = fs.readFileSync("/proc/stat", "utf8").split("\n")[0].trim().split(/\s+/).slice(1).map(Number);
  const total = cpu.reduce((a, b) => a + b, 0);
  const idle = cpu[3] + (cpu[4] ?? 0);
  return { busy: (total - idle) / CLK_TCK, total: total / CLK_TCK };
}

// Processes whose environment holds `marker` (the temp dir's path): what a run left behind.
export function pidsWithEnv({ marker }: { marker: string }): number[] {
  return allProcs()
    .filter((p) => p.pid !== process.pid)
    .filter((p) => {
      try {
        return fs.readFileSync(`/proc/${p.pid}/environ`, "utf8").includes(marker);
      } catch {
        return false;
      }
    })
    .map((p) => p.pid);
}

// --- the live stream -----------------------------------------------------------------------------

export type GpuEvent = { host: string; sampledAt: number | null; status: string; gpus: number; receivedAt: number };
export type GpuEventLog = { events: GpuEvent[]; error: () => string | null; close: () => void };

// One /api/stream client that keeps, per `gpu` event, its host, sampled_at, status, GPU count and
// the wall-clock time the event was read (Date.now(), the clock sampled_at is in).
export function collectGpuEvents({ url, token }: { url: string; token: string }): Promise<GpuEventLog> {
  if (new URL(url).hostname !== "127.0.0.1") throw new Error(`the stream is only read from 127.0.0.1, not ${url}`);
  return new Promise((resolve, reject) => {
    const events: GpuEvent[] = [];
    let error: string | null = null;
    let closed = false;
    const req = http.get(url, { agent: false, headers: { Accept: "text/event-stream", authorization: `Bearer ${token}` } }, (res) => {
      if (res.statusCode !== 200) {
        res.resume();
        reject(new Error(`/api/stream answered ${res.statusCode}`));
        return;
      }
      res.setEncoding("utf8");
      let pending = "";
      res.on("data", (chunk: string) => {
        const receivedAt = Date.now();
        pending += chunk;
        for (let end = pending.indexOf("\n\n"); end !== -1; end = pending.indexOf("\n\n")) {
          const block = pending.slice(0, end);
          pending = pending.slice(end + 2);
          if (!block.startsWith("event: gpu\n")) continue;
          const data = JSON.parse(block.slice(block.indexOf("data: ") + 6));
          events.push({ host: data.host, sampledAt: data.sampled_at ? Date.parse(data.sampled_at) : null, status: data.status, gpus: data.gpus.length, receivedAt });
        }
      });
      res.on("error", (e) => (error ??= closed ? null : e.message));
      res.on("end", () => (error ??= closed ? null : "the stream ended"));
      resolve({ events, error: () => error, close: () => ((closed = true), req.destroy()) });
    });
    req.on("error", (e) => {
      if (!closed) error ??= e.message;
      reject(e);
    });
  });
}
