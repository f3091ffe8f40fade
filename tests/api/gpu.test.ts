import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GET as getGpus } from "@/app/api/gpus/route";
import { GET as getUtilization } from "@/app/api/metrics/gpu-utilization/route";
import { GET as stream } from "@/app/api/stream/route";
import { publishEvent } from "@/lib/events";
import { startGpuPoller, stopGpuPoller, subscribeGpuSnapshots } from "@/lib/gpu/poller";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { insertGpuSamples } from "@/lib/store/gpu-samples";
import { call, makeDataDir, until } from "../helpers";

const FAKE = path.resolve(__dirname, "../../scripts/fake-nvidia-smi.mjs");
const STREAM = path.resolve(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv");
const FAST = { intervalMs: 100, flushIntervalMs: 100, appsIntervalMs: 200, backoffBaseMs: 50 };

const json = async (res: Promise<Response>) => (await res).json();

afterEach(async () => {
  await stopGpuPoller();
  delete process.env.AFS_GPU_SOURCE;
  delete process.env.NVIDIA_SMI;
});

describe("GPU endpoints over the real poller", () => {
  it("serve the fake nvidia-smi's readings live and from the store", async () => {
    makeDataDir();
    startGpuPoller({ ...FAST, source: "nvidia-smi", nvidiaSmi: FAKE });
    const snapshot = await until(async () => {
      const s = await json(call(getGpus));
      return s.status === "ok" && s.gpus.length ? s : null;
    });
    expect(snapshot).toMatchObject({ source: "nvidia-smi", gpus: [{ index: 0, name: "NVIDIA H100 80GB HBM3", memory_total_mb: 81559, fan_percent: null }] });
    const history = await until(async () => {
      const h = await json(call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m" }));
      return h.metrics.length >= 3 ? h : null;
    });
    expect(history.source).toBe("nvidia-smi");
    expect(history.metrics[0]).toMatchObject({ gpu_index: 0, memory_total_gb: 79.647 });
    expect(typeof history.current_utilization).toBe("number");
    expect((await call(getUtilization, { url: "/api/metrics/gpu-utilization?range=2h" })).status).toBe(400);
    expect((await json(call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m&gpu=3" }))).metrics).toEqual([]);
    // This machine by its name; a host with no history has none, whatever this machine reads.
    expect((await json(call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m&host=local" }))).source).toBe("nvidia-smi");
    expect(await json(call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m&host=gpu-box-1" }))).toEqual({ metrics: [], current_utilization: null, source: "none" });
  });

  it("answer one host's stored history: this machine's by default, another's by ?host=, 400 for a name no host can have", async () => {
    makeDataDir();
    const at = Date.now() - 60_000;
    const sample = (host: string, gpu_index: number, utilization: number) => ({ host, at, gpu_index, utilization, memory_used_mb: 1024, memory_total_mb: 81_920, temperature_c: 40, power_w: 100 });
    await insertGpuSamples({ samples: [sample(LOCAL_HOST, 0, 10), sample("gpu-box-1", 0, 90), sample("gpu-box-1", 1, 80)] });
    const point = (gpu_index: number, utilization: number) => ({ timestamp: new Date(at).toISOString(), gpu_index, utilization, memory_used_gb: 1, memory_total_gb: 80 });
    const get = (query: string) => json(call(getUtilization, { url: `/api/metrics/gpu-utilization?range=15m${query}` }));

    const local = await get("");
    expect(local).toEqual({ metrics: [point(0, 10)], current_utilization: null, source: "none" });
    expect(await get("&host=local")).toEqual(local);
    // A host nothing reads now (destroyed, or gone from the config) keeps its history.
    expect(await get("&host=gpu-box-1")).toEqual({ metrics: [point(0, 90), point(1, 80)], current_utilization: null, source: "none" });
    expect(await get("&host=gpu-box-1&gpu=1")).toEqual({ metrics: [point(1, 80)], current_utilization: null, source: "none" });

    for (const host of ["GPU-box", "-x", "a/b", "", "a".repeat(65)]) {
      const res = await call(getUtilization, { url: `/api/metrics/gpu-utilization?host=${encodeURIComponent(host)}` });
      expect(res.status, host).toBe(400);
      expect(await res.json(), host).toEqual({ error: "Invalid request", details: ["host: must match ^[a-z0-9][a-z0-9_.-]{0,63}$"] });
    }
  });

  it("say replay when replaying a capture", async () => {
    makeDataDir();
    startGpuPoller({ ...FAST, source: `replay:${STREAM}` });
    const snapshot = await until(async () => {
      const s = await json(call(getGpus));
      return s.status === "ok" ? s : null;
    });
    expect(snapshot.source).toBe("replay");
    expect(Date.now() - Date.parse(snapshot.sampled_at)).toBeLessThan(5000); // moved to now
    const history = await until(async () => {
      const h = await json(call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m" }));
      return h.metrics.length ? h : null;
    });
    expect(history.source).toBe("replay");
  });

  it("say none, and keep serving, when nvidia-smi is missing", async () => {
    makeDataDir();
    startGpuPoller({ ...FAST, source: "nvidia-smi", nvidiaSmi: "/nonexistent/nvidia-smi" });
    const snapshot = await until(async () => {
      const s = await json(call(getGpus));
      return s.status === "unavailable" ? s : null;
    });
    expect(snapshot.reason).toMatch(/nonexistent/);
    expect(await json(call(getUtilization))).toEqual({ metrics: [], current_utilization: null, source: "none" });
  });

  it("stream a gpu event per sample", async () => {
    makeDataDir();
    const unbridge = subscribeGpuSnapshots((s) => publishEvent({ type: "gpu", data: { ...s, host: "local" } }));
    try {
      startGpuPoller({ ...FAST, source: "nvidia-smi", nvidiaSmi: FAKE });
      const abort = new AbortController();
      const reader = (await call(stream, { init: { signal: abort.signal } })).body!.getReader();
      const decoder = new TextDecoder();
      const events: { status: string; source: string; gpus: { index: number }[] }[] = [];
      let text = "";
      // The first events may be status changes ("starting"); wait for readings.
      while (!events.some((e) => e.status === "ok")) {
        text += decoder.decode((await reader.read()).value);
        const blocks = text.split("\n\n");
        text = blocks.pop()!;
        for (const block of blocks) if (block.startsWith("event: gpu\n")) events.push(JSON.parse(block.split("\ndata: ")[1]));
      }
      abort.abort();
      expect(events.find((e) => e.status === "ok")).toMatchObject({ source: "nvidia-smi", gpus: [{ index: 0 }] });
    } finally {
      unbridge();
    }
  });
});
