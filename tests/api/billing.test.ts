import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import fs from "node:fs";
import { GET as getInstances } from "@/app/api/billing/instances/route";
import { GET as getCosts } from "@/app/api/costs/breakdown/route";
import { GET as getTimeline } from "@/app/api/costs/timeline/route";
import { GET as getLoss } from "@/app/api/metrics/training-loss/route";
import { GET as getHosts } from "@/app/api/hosts/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { POST } from "@/app/api/update-status/route";
import { nextPollDelay, pollVastOnce } from "@/lib/billing/poller";
import { startFleet, stopFleet } from "@/lib/hosts/fleet";
import type { Host } from "@/lib/schemas/api";
import { stopLiveState } from "@/lib/state/live-state";
import { closeCurrentStore } from "@/lib/store/db";
import { startFakeVastai, vastInstanceRow, type FakeVastai } from "../support/fake-vastai";
import { startSshd } from "../support/sshd";
import { call, jsonl, makeDataDir, postJson, until, writeFile } from "../helpers";

// vast.ai billing end to end through the route handlers, on a clock the test moves: a fake
// vast.ai API (paged like vast-cli's) is polled once a second while two instances go through
// running, stopped, a price change, destruction, failed polls and a gap. Rates are dollars per
// second times 3600, so every figure below is worked out by hand in cents.

const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const at = (s: number) => T0 + s * 1000;
// $/h that bill a round amount per second
const perSecond = (usd: number) => usd * 3600;

let fake: FakeVastai;
const errors: string[] = [];

beforeAll(async () => {
  fake = await startFakeVastai();
  vi.spyOn(console, "error").mockImplementation((...args: unknown[]) => void errors.push(args.join(" ")));
});
afterAll(async () => {
  await fake.close();
  vi.restoreAllMocks();
});
afterEach(async () => {
  vi.useRealTimers();
  await stopLiveState();
  await closeCurrentStore();
});

function setup({ models, budget = 10 }: { models: Record<string, unknown>[]; budget?: number }) {
  const dir = makeDataDir({ config: { session: { name: "Billing", started_at: new Date(T0).toISOString(), budget_usd: budget }, models } });
  process.env.AFS_VASTAI_API_KEY = fake.apiKey;
  process.env.AFS_VASTAI_URL = fake.url;
  process.env.AFS_VASTAI_INTERVAL_SECONDS = "1";
  process.env.AFS_VASTAI_SSH = "0";
  vi.useFakeTimers({ toFake: ["Date"] });
  return dir;
}

// Polls at second s of the test's clock.
async function pollAt(s: number) {
  vi.setSystemTime(at(s));
  return pollVastOnce();
}
async function postStatus(s: number, body: { model_key: string; status: string; progress: number }) {
  vi.setSystemTime(at(s));
  expect((await call(POST, { init: postJson(body) })).status).toBe(200);
}
const json = async <T,>(res: Promise<Response>) => (await res).json() as Promise<T>;

type Instances = { state: string; reason?: string; stale: boolean; last_polled: string | null; instances: Record<string, unknown>[]; warnings: string[] };
const instances = () => json<Instances>(call(getInstances));

const A = (over: Record<string, unknown>) => vastInstanceRow({ id: 101, overrides: { label: "alpha", num_gpus: 2, dph_total: perSecond(0.01), storage_total_cost: perSecond(0.001), start_date: T0 / 1000 - 86_400, ...over } });
const B = () => vastInstanceRow({ id: 202, overrides: { label: "shared-box", num_gpus: 1, dph_total: perSecond(0.02), storage_total_cost: perSecond(0.002), cur_state: "running", actual_status: "running" } });
const running = { cur_state: "running", actual_status: "running" };
const stopped = { cur_state: "stopped", actual_status: "exited" };

describe("vast.ai billing", () => {
  afterAll(() => {
    for (const name of ["AFS_VASTAI_API_KEY", "AFS_VASTAI_URL", "AFS_VASTAI_INTERVAL_SECONDS", "AFS_VASTAI_SSH"]) delete process.env[name];
  });

  it("accrues each instance and each linked model to the cent through state and price changes, faults and a gap", async () => {
    setup({
      models: [
        { key: "alpha", name: "Alpha", cost_per_hour: 1, num_gpus: 2 },
        { key: "beta", name: "Beta", cost_per_hour: 1, vast_instance: 202 },
        { key: "gamma", name: "Gamma", cost_per_hour: 1, vast_instance: 202 },
        { key: "delta", name: "Delta, not on vast.ai", cost_per_hour: 2 },
      ],
    });
    errors.length = 0;
    const script: Record<number, () => void> = {
      0: () => fake.setInstances([A(running), B()]),
      10: () => fake.setInstances([A(stopped), B()]),
      20: () => fake.setInstances([A(running), B()]),
      // an interruptible bid's price doubles
      25: () => fake.setInstances([A({ ...running, dph_total: perSecond(0.02) }), B()]),
      // alpha's box is destroyed: it is missing from the list from here on
      30: () => fake.setInstances([B()]),
    };
    await postStatus(0, { model_key: "beta", status: "running", progress: 0 });
    await postStatus(0, { model_key: "delta", status: "running", progress: 0 });
    for (let s = 0; s <= 40; s++) {
      script[s]?.();
      if (s === 2) await postStatus(2, { model_key: "alpha", status: "running", progress: 0 });
      if (s === 20) await postStatus(20, { model_key: "gamma", status: "running", progress: 0 });
      if (s === 28) await postStatus(28, { model_key: "alpha", status: "completed", progress: 100 });
      if (s === 30) await postStatus(30, { model_key: "beta", status: "completed", progress: 100 });
      if (s === 33) fake.queueAnswers({ kind: "status", status: 500 });
      if (s === 34) fake.queueAnswers({ kind: "malformed" });
      if (s === 37) fake.queueAnswers({ kind: "status", status: 429, retryAfter: "7" });
      const result = await pollAt(s);
      if (s === 33) {
        expect(result).toEqual({ state: "server_error", reason: "page 1: HTTP 500" });
        // the last known instances stay, marked stale
        expect(await instances()).toMatchObject({ state: "error", reason: "page 1: HTTP 500", stale: true, last_polled: new Date(at(33)).toISOString() });
        expect((await instances()).instances.map((i) => i.id)).toEqual([101, 202]);
      }
      if (s === 34) expect(await instances()).toMatchObject({ state: "error", reason: "page 1: the answer is not JSON", stale: true });
      if (s === 35) expect(await instances()).toMatchObject({ state: "ok", stale: false });
      if (s === 37) {
        expect(result).toEqual({ state: "rate_limited", reason: "page 1: HTTP 429: rate limited", retry_after_ms: 7000 });
        expect(nextPollDelay({ result, failures: 0, intervalMs: 1000 })).toBe(7000);
      }
    }
    // No successful poll from 40 to 50 (one refused key in between), then every second to 60.
    await postStatus(44, { model_key: "delta", status: "running", progress: 40 });
    const wrong = await startFakeVastai({ apiKey: "another-key" });
    process.env.AFS_VASTAI_URL = wrong.url;
    const refused = await pollAt(45);
    process.env.AFS_VASTAI_URL = fake.url;
    await wrong.close();
    expect(refused.state).toBe("auth_failed");
    expect(nextPollDelay({ result: refused, failures: 0, intervalMs: 1000 })).toBe(10 * 60_000);
    for (let s = 50; s <= 60; s++) await pollAt(s);
    await postStatus(60, { model_key: "delta", status: "running", progress: 50 });

    const billing = await instances();
    expect(billing.state).toBe("ok");
    const [a, b] = billing.instances;
    // A: running 0-10 at $0.01/s = $0.10; stopped 10-20 at $0.001/s = $0.01; running 20-25 at
    // $0.01/s = $0.05 and 25-30 at $0.02/s = $0.10; destroyed at the poll at 30 → $0.26
    expect(a).toMatchObject({
      id: 101, label: "alpha", state: "running", accrued_usd: 0.26, models: ["alpha"],
      observed_since: new Date(at(0)).toISOString(), destroyed_at: new Date(at(30)).toISOString(), start_date: T0 / 1000 - 86_400,
    });
    // B: running 0-40 at $0.02/s = $0.80; 40-50 unknown (no poll for 10 intervals); 50-60 = $0.20 → $1.00
    expect(b).toMatchObject({ id: 202, state: "running", accrued_usd: 1, models: ["beta", "gamma"], dph_total: 72 });
    expect(b.destroyed_at).toBeUndefined();
    expect(billing.warnings.some((w) => w.startsWith("instance 202 (shared-box): no successful poll from"))).toBe(true);

    const { models } = await json<{ models: Record<string, unknown>[] }>(call(getModels));
    const model = (key: string) => models.find((m) => m.key === key)!;
    // alpha ran 2-28: running 2-10 $0.08 + stopped 10-20 $0.01 + running 20-25 $0.05 + 25-28 $0.06
    // = $0.20; GPU hours: 16 running seconds × 2 GPUs = 32 s = 0.0089 h
    expect(model("alpha")).toMatchObject({ total_cost: 0.2, gpu_hours: 0.0089, total_cost_source: "vastai", vast_instance: 101, burn_rate_usd_per_hour: 0 });
    // beta 0-30 on B: alone 0-20 $0.40 + shared with gamma 20-30 $0.10 = $0.50
    expect(model("beta")).toMatchObject({ total_cost: 0.5, vast_instance: 202, projected_total_cost: 0.5 });
    // gamma 20-60: shared 20-30 $0.10 + alone 30-40 $0.20 + unknown 40-50 + 50-60 $0.20 = $0.50;
    // it has B to itself now: $72/h
    expect(model("gamma")).toMatchObject({ total_cost: 0.5, burn_rate_usd_per_hour: 72 });
    // delta is not on vast.ai: 60 s running × $2/h = $0.0333; at 50 % after 60 s it ends at
    // 120 s, 60 s more at $2/h = $0.0333
    expect(model("delta")).toMatchObject({ total_cost: 0.0333, total_cost_source: "status_history", vast_instance: null, burn_rate_usd_per_hour: 2 });
    expect(model("delta").projected_cost_to_finish).toBeCloseTo(0.0333, 4);
    expect(model("delta").projected_total_cost).toBeCloseTo(0.0667, 4);

    const costs = await json<Record<string, unknown> & { budget: Record<string, unknown>; breakdown: Record<string, Record<string, unknown>> }>(call(getCosts));
    // B running $72/h + delta $2/h (A is gone)
    expect(costs.burn_rate_usd_per_hour).toBe(74);
    // the models' $1.2333 + A's $0.06 with no model on it (0-2 and 28-30)
    expect(costs.budget).toMatchObject({ usd: 10, spent: 1.2933, left: 8.7067 });
    // $8.7067 at $74/h lasts 423.6 s
    expect(Date.parse(costs.budget.runs_out_at as string) - at(60)).toBeCloseTo((8.706_666_7 / 74) * 3_600_000, -1);
    expect(costs.breakdown.gamma).toMatchObject({ total_cost: 0.5, burn_rate_usd_per_hour: 72 });

    // cumulative spend per model; the last point is now
    const timeline = await json<{ metrics: { timestamp: string; model: string; cost_usd: number }[] }>(call(getTimeline, { url: "/api/costs/timeline?range=1h" }));
    const last = (key: string) => timeline.metrics.filter((p) => p.model === key).at(-1)!;
    expect(last("alpha")).toEqual({ timestamp: new Date(at(60)).toISOString(), model: "alpha", cost_usd: 0.2 });
    expect(last("gamma").cost_usd).toBe(0.5);

    // The key went to vast.ai in the header only, and nowhere else.
    const answers = JSON.stringify([billing, models, costs, timeline]);
    expect(answers).not.toContain(fake.apiKey);
    expect(errors.join("\n")).not.toContain(fake.apiKey);
    expect(errors.some((e) => e.includes("HTTP 500"))).toBe(true);
  });

  it("places each loss point's cost and GPU hours from the accrual at its time", async () => {
    const row = (s: number, step: number) => ({ step, loss: 2 - step / 100, time: at(s) / 1000 });
    const dir = setup({ models: [{ key: "alpha", name: "Alpha", cost_per_hour: 1 }] });
    writeFile(dir, "runs/alpha/train.jsonl", jsonl([row(0, 1), row(5, 2), row(10, 3)]));
    fake.setInstances([A(running)]);
    await postStatus(0, { model_key: "alpha", status: "running", progress: 0 });
    for (let s = 0; s <= 10; s++) await pollAt(s);
    const loss = await json<{ metrics: { step: number; cost_usd: number | null; gpu_hours: number | null }[] }>(call(getLoss, { url: "/api/metrics/training-loss?model=alpha" }));
    // $0.01/s on 2 GPUs
    expect(loss.metrics.map((p) => [p.step, p.cost_usd, p.gpu_hours])).toEqual([
      [1, 0, 0],
      [2, 0.05, round4((5 * 2) / 3600)],
      [3, 0.1, round4((10 * 2) / 3600)],
    ]);
  });

  it("reads each instance as a fleet host over SSH, root@ssh_host:ssh_port, until it is destroyed", async () => {
    // vast.ai's images log in as root, and so does this test: it runs as root, like CI.
    const sshd = await startSshd();
    try {
      const dir = setup({ models: [] });
      vi.useRealTimers();
      process.env.AFS_VASTAI_SSH = "1";
      process.env.AFS_SSH_KEY = writeFile(dir, "client_key", sshd.clientKey);
      fs.chmodSync(process.env.AFS_SSH_KEY, 0o600);
      process.env.AFS_SSH_KNOWN_HOSTS = writeFile(dir, "known_hosts", `${sshd.knownHostsLine()}\n`);
      fake.setInstances([
        vastInstanceRow({ id: 303, overrides: { ssh_host: "127.0.0.1", ssh_port: sshd.port } }),
        vastInstanceRow({ id: 404, overrides: { ssh_host: "-oProxyCommand=x", ssh_port: 22 } }),
      ]);
      await pollVastOnce();
      const hostsNow = async () => (await (await call(getHosts)).json()).hosts as Host[];
      startFleet();
      // It answers, and has no nvidia-smi: the SSH session itself worked.
      const box = await until(async () => (await hostsNow()).find((h) => h.name === "vast-303" && h.state === "no_gpu"), 15_000);
      expect(box).toMatchObject({ source: "ssh", cost_per_hour: 0.45 });
      expect(sshd.log()).toMatch(/Accepted publickey for root/);
      // an ssh_host that could read as an option is never used
      expect((await hostsNow()).map((h) => h.name)).toEqual(["local", "vast-303"]);
      const { warnings } = await json<{ warnings: string[] }>(call(getModels));
      expect(warnings).toContain('vast.ai: instance 404: ssh_host "-oProxyCommand=x" is not a host name; not read over SSH');
      fake.setInstances([]);
      await pollVastOnce();
      expect((await hostsNow()).map((h) => h.name)).toEqual(["local"]);
    } finally {
      await stopFleet();
      await sshd.stop();
      for (const name of ["AFS_SSH_KEY", "AFS_SSH_KNOWN_HOSTS"]) delete process.env[name];
    }
  });

  it("answers off without a key", async () => {
    makeDataDir({ models: [{ key: "alpha" }] });
    delete process.env.AFS_VASTAI_API_KEY;
    expect(await instances()).toEqual({ state: "off", last_polled: null, stale: false, instances: [], warnings: [] });
    const costs = await json<{ burn_rate_usd_per_hour: number; idle: unknown }>(call(getCosts));
    expect(costs.burn_rate_usd_per_hour).toBe(0);
    expect(costs.idle).toEqual({ gpus: 0, usd_per_hour: 0 });
  });
});

function round4(n: number) {
  return Math.round(n * 10_000) / 10_000;
}
