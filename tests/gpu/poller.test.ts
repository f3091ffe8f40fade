import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { getGpuPollerStats, getGpuSnapshot, startGpuPoller, stopGpuPoller, subscribeGpuSnapshots } from "@/lib/gpu/poller";
import { startGpuReplay, type GpuTick } from "@/lib/gpu/replay";
import type { GpuSnapshot } from "@/lib/gpu/types";
import { closeCurrentStore } from "@/lib/store/db";
import { storeRows } from "../support/store";

const FAKE = path.resolve(__dirname, "../../scripts/fake-nvidia-smi.mjs");
const STREAM = path.resolve(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv");
const FAST = { nvidiaSmi: FAKE, intervalMs: 100, flushIntervalMs: 100, appsIntervalMs: 200, backoffBaseMs: 50 } as const;
const H100 = "GPU-b11cb0f2-ff08-1111-37b7-7f98f227c0bb";

async function waitFor<T>(what: string, probe: () => T | undefined | null | false | Promise<T | undefined | null | false>, timeoutMs = 5000): Promise<T> {
  const until = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}; snapshot ${JSON.stringify(getGpuSnapshot())}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// Snapshots repeat when only the process list changes; keep each new reason once.
const changes = <T,>(values: T[]) => values.filter((v, i) => i === 0 || v !== values[i - 1]);

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

const storedRows = () =>
  storeRows<{
    at: number;
    gpu_index: number;
    utilization: number;
    memory_total_mb: number;
    power_w: number;
  }>("SELECT at, gpu_index, utilization, memory_total_mb, power_w FROM gpu_samples ORDER BY at");

let dir: string;
let seen: GpuSnapshot[];
let unsubscribe: () => void;
beforeEach(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-gpu-poller-"));
  process.env.AFS_DATA_DIR = dir;
  process.env.AFS_DB = path.join(dir, "afs.db");
  delete process.env.AFS_GPU_SOURCE;
  for (const k of Object.keys(process.env)) if (k.startsWith("FAKE_NVIDIA_SMI_")) delete process.env[k];
  seen = [];
  unsubscribe = subscribeGpuSnapshots((s) => seen.push(s));
});
afterEach(async () => {
  unsubscribe();
  await stopGpuPoller();
  await closeCurrentStore();
  fs.rmSync(dir, { recursive: true, force: true });
});

describe("GPU poller against the fake nvidia-smi", () => {
  it("streams samples into the snapshot and the store, with processes, and stop() ends the child", async () => {
    const started = Date.now();
    startGpuPoller({ source: "nvidia-smi", ...FAST });
    expect(getGpuSnapshot()).toMatchObject({ source: "nvidia-smi", status: "starting", gpus: [] });

    const snap = await waitFor("a snapshot with processes", () => {
      const s = getGpuSnapshot();
      return s.status === "ok" && s.gpus[0]?.processes.length ? s : null;
    });
    expect(snap.reason).toBeUndefined();
    expect(Date.parse(snap.sampled_at!)).toBeGreaterThanOrEqual(started - 1000);
    expect(snap.gpus).toHaveLength(1);
    expect(snap.gpus[0]).toMatchObject({
      index: 0,
      uuid: H100,
      name: "NVIDIA H100 80GB HBM3",
      bus_id: "00000000:00:06.0",
      pstate: "P0",
      memory_total_mb: 81559,
      power_limit_w: 700,
      mem_clock_mhz: 2619,
      fan_percent: null,
      error: null,
      processes: [{ pid: 469, name: "python3", used_memory_mb: 6274 }],
    });

    const rows = await waitFor("3 stored samples", async () => ((await storedRows()).length >= 3 ? storedRows() : null));
    // The fake plays stream_500ms.csv from its first sample, one line per 100 ms.
    expect(rows.slice(0, 3).map((r) => r.power_w)).toEqual([69.16, 69.21, 69.16]);
    expect(rows.every((r) => r.gpu_index === 0 && r.utilization === 0 && r.memory_total_mb === 81559)).toBe(true);
    expect(rows[2].at - rows[0].at).toBeGreaterThan(100);
    expect(rows[2].at - rows[0].at).toBeLessThan(600);
    expect(seen.some((s) => s.status === "ok" && s.gpus.length === 1)).toBe(true);

    const { pid } = getGpuPollerStats();
    expect(alive(pid!)).toBe(true);
    await stopGpuPoller();
    expect(alive(pid!)).toBe(false);
    expect(getGpuSnapshot()).toMatchObject({ status: "stopped", gpus: [] });
  });

  it("restarts the child after it is killed", async () => {
    startGpuPoller({ source: "nvidia-smi", ...FAST });
    const first = await waitFor("the first child", () => getGpuSnapshot().status === "ok" && getGpuPollerStats().pid);
    process.kill(first, "SIGKILL");
    const second = await waitFor("a new child", () => {
      const { pid } = getGpuPollerStats();
      return pid !== first && pid;
    });
    expect(getGpuPollerStats().restarts).toBe(1);
    expect(seen.find((s) => s.status === "error")?.reason).toBe("nvidia-smi exited (SIGKILL); retrying in 50 ms");
    await waitFor("samples from the new child", () => getGpuSnapshot().status === "ok");
    expect(alive(first)).toBe(false);
    expect(alive(second)).toBe(true);
  });

  it("restarts a child that exits on its own, backing off only while it prints nothing", async () => {
    process.env.FAKE_NVIDIA_SMI_EXIT_AFTER = "2";
    startGpuPoller({ source: "nvidia-smi", ...FAST });
    await waitFor("three restarts", () => getGpuPollerStats().restarts >= 3);
    const reasons = seen.filter((s) => s.status === "error").map((s) => s.reason);
    // Each run printed lines, so the backoff starts over at its base every time.
    expect(new Set(reasons)).toEqual(new Set(["nvidia-smi exited (code 0); retrying in 50 ms"]));
    // Two lines from each run reach the store.
    await waitFor("samples from several runs", async () => (await storedRows()).length >= 6);
  });

  it("kills a child that stops printing and starts another", async () => {
    process.env.FAKE_NVIDIA_SMI_HANG_AFTER = "3";
    startGpuPoller({ source: "nvidia-smi", ...FAST });
    const first = await waitFor("the first child", () => getGpuSnapshot().status === "ok" && getGpuPollerStats().pid);
    await waitFor("a restart", () => getGpuPollerStats().restarts >= 1);
    const killed = seen.find((s) => s.status === "error");
    expect(killed?.reason).toMatch(/^nvidia-smi printed nothing for \d+ ms; killed it; retrying in 50 ms$/);
    expect(Number(/for (\d+) ms/.exec(killed!.reason!)![1])).toBeGreaterThan(500);
    expect(alive(first)).toBe(false);
    await waitFor("samples from the new child", () => getGpuSnapshot().status === "ok" && getGpuPollerStats().pid !== first);
  });

  it("pins an NVML failure line on the GPU with that bus id, and kills a silent wrapper script with its children", async () => {
    // A wrapper (as NVIDIA_SMI may be) that passes on two real lines, then prints a synthetic
    // NVML failure for the H100's bus id and blocks in a grandchild that holds the pipe open.
    const failure = "Unable to determine the device handle for GPU0000:00:06.0: GPU is lost.  Reboot the system to recover this GPU";
    const wrapper = path.join(dir, "nvidia-smi");
    fs.writeFileSync(
      wrapper,
      `#!/bin/sh\ncase "$*" in *query-compute-apps*) exec "${FAKE}" "$@";; esac\n"${FAKE}" "$@" | head -n 2\necho "${failure}"\nsleep 30\n`,
      { mode: 0o755 },
    );
    startGpuPoller({ ...FAST, source: "nvidia-smi", nvidiaSmi: wrapper });
    const lost = await waitFor("the GPU marked lost", () => seen.find((s) => s.gpus[0]?.error));
    expect(lost.status).toBe("ok");
    expect(lost.gpus[0]).toMatchObject({ index: 0, uuid: H100, bus_id: "00000000:00:06.0", error: failure, utilization: null, memory_used_mb: null });
    // The restart needs the pipe closed, which needs the grandchild `sleep` gone too.
    await waitFor("a restart", () => getGpuPollerStats().restarts >= 1);
    expect(seen.find((s) => s.status === "error")?.reason).toMatch(/^nvidia-smi printed nothing for \d+ ms; killed it; retrying in 50 ms$/);
    await waitFor("a healthy reading again", () => getGpuSnapshot().gpus[0]?.error === null);
  });

  it("reports a missing binary as unavailable without throwing, and keeps retrying with growing delays", async () => {
    const missing = path.join(dir, "no-nvidia-smi");
    expect(() => startGpuPoller({ ...FAST, source: "nvidia-smi", nvidiaSmi: missing })).not.toThrow();
    await waitFor("three restarts", () => getGpuPollerStats().restarts >= 3);
    const reasons = changes(seen.filter((s) => s.status === "unavailable").map((s) => s.reason));
    expect(reasons.slice(0, 3)).toEqual([50, 100, 200].map((ms) => `${missing} not found or not executable (ENOENT); set NVIDIA_SMI to its path; retrying in ${ms} ms`));
    expect(getGpuSnapshot()).toMatchObject({ source: "nvidia-smi", status: "unavailable", gpus: [] });
    expect(getGpuPollerStats().pid).toBeNull();
  });

  it("caps the backoff at backoffMaxMs", async () => {
    startGpuPoller({ ...FAST, source: "nvidia-smi", nvidiaSmi: path.join(dir, "none"), backoffBaseMs: 20, backoffMaxMs: 40 });
    await waitFor("four restarts", () => getGpuPollerStats().restarts >= 4);
    const reasons = changes(seen.filter((s) => s.status === "unavailable").map((s) => s.reason!));
    expect(reasons.slice(0, 2).map((r) => /retrying in (\d+) ms/.exec(r)![1])).toEqual(["20", "40"]);
    expect(new Set(reasons.slice(1))).toEqual(new Set([reasons[1]]));
  });

  it("does nothing when the source is off", () => {
    startGpuPoller({ source: "off" });
    expect(getGpuSnapshot()).toEqual({ source: "off", status: "off", sampled_at: null, gpus: [] });
    expect(getGpuPollerStats().pid).toBeNull();
  });
});

describe("replay", () => {
  it("plays stream_500ms.csv at its recorded pace with timestamps moved to now", async () => {
    const started = Date.now();
    startGpuPoller({ source: `replay:${path.relative(process.cwd(), STREAM)}`, flushIntervalMs: 100 });
    const rows = await waitFor("3 replayed samples", async () => ((await storedRows()).length >= 3 ? storedRows() : null), 3000);
    // 09:55:18.754, 19.272, 19.777 in the capture.
    expect(rows[1].at - rows[0].at).toBe(518);
    expect(rows[2].at - rows[1].at).toBe(505);
    expect(rows[0].at - started).toBeGreaterThanOrEqual(0);
    expect(rows[0].at - started).toBeLessThan(500);
    expect(rows.slice(0, 3).map((r) => r.power_w)).toEqual([69.16, 69.21, 69.16]);
    const snap = getGpuSnapshot();
    expect(snap).toMatchObject({ source: "replay", status: "ok", gpus: [{ index: 0, uuid: H100, memory_total_mb: 81559, processes: [] }] });
    expect(Math.abs(Date.parse(snap.sampled_at!) - Date.now())).toBeLessThan(600);
  });

  it("loops the capture, one mean interval after its last sample", async () => {
    const short = path.join(dir, "three.csv");
    fs.writeFileSync(short, fs.readFileSync(STREAM, "utf8").split("\n").slice(0, 4).join("\n") + "\n");
    const ticks: GpuTick[] = [];
    const replay = startGpuReplay({ path: short, onTick: (t) => ticks.push(t) });
    try {
      await waitFor("5 ticks", () => ticks.length >= 5, 4000);
    } finally {
      replay.stop();
    }
    expect(ticks.map((t) => t.readings.map((r) => r.power_w))).toEqual([[69.16], [69.21], [69.16], [69.16], [69.21]]);
    // The three samples span 1023 ms, so the loop period is 1023 + 1023 / 2.
    expect(ticks[3].timestamp - ticks[0].timestamp).toBeGreaterThanOrEqual(1534);
    expect(ticks[3].timestamp - ticks[0].timestamp).toBeLessThanOrEqual(1535);
    expect(ticks[4].timestamp - ticks[3].timestamp).toBe(518);
  });

  it("reports an unreadable replay file as unavailable", () => {
    startGpuPoller({ source: `replay:${path.join(dir, "missing.csv")}` });
    const snap = getGpuSnapshot();
    expect(snap).toMatchObject({ source: "replay", status: "unavailable" });
    expect(snap.reason).toMatch(/^replay: ENOENT/);
  });
});
