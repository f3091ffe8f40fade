import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GET as getCosts } from "@/app/api/costs/breakdown/route";
import { GET as getHosts } from "@/app/api/hosts/route";
import { POST } from "@/app/api/update-status/route";
import { publishEvent, subscribeEvents, type LiveEvent } from "@/lib/events";
import { IdleWatch, startIdleWatch } from "@/lib/gpu/idle";
import { parseGpuCsv } from "@/lib/gpu/parse";
import { stopLiveState } from "@/lib/state/live-state";
import { closeCurrentStore } from "@/lib/store/db";
import { call, makeDataDir, postJson } from "../helpers";

// Idle detection on the real H100 capture: idle 23 s, two training jobs with a 15 s idle stretch
// between them, then idle 5.5 s to the end.
const ticks = parseGpuCsv({ text: fs.readFileSync(path.join(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv"), "utf8") }).readings.map(
  ({ timestamp, reading }) => ({ at: timestamp!, reading }),
);
// A time of the capture ("09:55:18.754"); nvidia-smi's are zone-less and read as UTC.
const time = (hms: string) => Date.parse(`2026-11-26T${hms}Z`);
const FOR_MS = 10_000;

afterEach(async () => {
  await stopLiveState();
  await closeCurrentStore();
});

describe("IdleWatch", () => {
  it("flags a GPU under 5 % for 10 s of the replay, from the first idle reading, and only then", () => {
    const watch = new IdleWatch({ utilPercent: 5 });
    // per idle stretch found, the first reading at which it was flagged
    const flagged = new Map<number, number>();
    for (const { at, reading } of ticks) {
      watch.observe({ host: "local", at, gpus: [reading] });
      for (const gpu of watch.idle({ now: at, forMs: FOR_MS })) if (!flagged.has(gpu.since)) flagged.set(gpu.since, at);
    }
    // idle from 09:55:18.754 (the 1 % at 09:55:40.500 is under 5 %) until the load at 09:55:42.012;
    // idle again from 09:56:01.187 (a 3 % blip at 09:56:11.860 included) until 09:56:16.895.
    // Each is flagged at the first reading 10 s or more after it began. The 5.5 s at the end is
    // too short.
    expect([...flagged.entries()]).toEqual([
      [time("09:55:18.754"), time("09:55:28.901")],
      [time("09:56:01.187"), time("09:56:11.278")],
    ]);
  });

  it("forgets a GPU that went quiet, and one that reports no utilization", () => {
    const watch = new IdleWatch({ utilPercent: 5 });
    watch.observe({ host: "box", at: 0, gpus: [{ index: 0, utilization: 0 }, { index: 1, utilization: 0 }] });
    watch.observe({ host: "box", at: 20_000, gpus: [{ index: 0, utilization: 0 }, { index: 1, utilization: null }] });
    expect(watch.idle({ now: 20_000, forMs: FOR_MS })).toEqual([{ host: "box", index: 0, since: 0 }]);
    // nothing heard for over a minute: nobody knows
    expect(watch.idle({ now: 90_000, forMs: FOR_MS })).toEqual([]);
  });
});

describe("idle GPUs billed", () => {
  it("shows an idle GPU of this machine on its host card and in the costs, at the running model's rate", async () => {
    makeDataDir({ models: [{ key: "alpha", cost_per_hour: 2.5 }] });
    process.env.AFS_IDLE_MINUTES = String(FOR_MS / 60_000);
    startIdleWatch({ utilPercent: 5 });
    // the capture's first 12 s (idle) replayed so that it ends now
    const now = Date.now();
    const head = ticks.filter((t) => t.at - ticks[0].at <= 12_000);
    const shift = now - head.at(-1)!.at;
    for (const { at, reading } of head) {
      publishEvent({ type: "gpu", data: { source: "replay", status: "ok", sampled_at: new Date(at + shift).toISOString(), gpus: [{ ...reading, processes: [] }], host: "local" } });
    }
    const idleOf = async () => (await (await call(getHosts)).json()).hosts[0].idle_gpus;
    // nothing runs on this machine, so nothing is billed for it
    expect(await idleOf()).toEqual([]);
    const events: LiveEvent[] = [];
    const unsubscribe = subscribeEvents((e) => e.type === "idle_gpu" && events.push(e));
    await call(POST, { init: postJson({ model_key: "alpha", status: "running", progress: 1 }) });
    await idleOf();
    unsubscribe();
    // the finding goes out once on the live stream, for alerts to send
    expect(events).toEqual([{ type: "idle_gpu", data: { host: "local", index: 0, since: new Date(head[0].at + shift).toISOString(), usd_per_hour: 2.5 } }]);
    expect(await idleOf()).toEqual([{ index: 0, since: new Date(head[0].at + shift).toISOString(), usd_per_hour: 2.5 }]);
    expect((await (await call(getCosts)).json()).idle).toEqual({ gpus: 1, usd_per_hour: 2.5 });
    delete process.env.AFS_IDLE_MINUTES;
  });
});
