import fs from "node:fs";
import path from "node:path";
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { GET as getAlerts } from "@/app/api/alerts/route";
import { POST as testChannel } from "@/app/api/alerts/test/route";
import { POST } from "@/app/api/update-status/route";
import { runAlerts } from "@/lib/alerts/engine";
import { publishEvent } from "@/lib/events";
import { startIdleWatch } from "@/lib/gpu/idle";
import { parseGpuCsv } from "@/lib/gpu/parse";
import { receiveSharedGpuSnapshot } from "@/lib/gpu/poller";
import { startFleet, stopFleet } from "@/lib/hosts/fleet";
import type { AlertsResponse } from "@/lib/schemas/api";
import { stopLiveState } from "@/lib/state/live-state";
import { closeCurrentStore } from "@/lib/store/db";
import { discordAnswers, startAlertReceiver, type AlertReceiver } from "../support/alert-receivers";
import { call, jsonl, makeDataDir, postJson, until, writeFile } from "../helpers";

// Alerts end to end through the engine and the route handlers, on a clock the test moves, to
// fake Slack, Discord and webhook receivers on loopback (allow-listed, plain http).

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
let receiver: AlertReceiver;
// One reading of the capture's H100 at rest.
const IDLE_READING = parseGpuCsv({ text: fs.readFileSync(path.join(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv"), "utf8") }).readings[0].reading;

beforeAll(async () => {
  receiver = await startAlertReceiver();
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterAll(async () => {
  await receiver.close();
  vi.restoreAllMocks();
  for (const name of ["AFS_ALERT_ALLOW_HOSTS", "AFS_TEST_HOOK_URL", "AFS_PUBLIC_URL", "AFS_GPU_INTERVAL_MS"]) delete process.env[name];
});
afterEach(async () => {
  vi.useRealTimers();
  await stopFleet();
  await stopLiveState();
  await closeCurrentStore();
});

function setup({ type = "slack", rules, models = [], hosts, budget }: { type?: string; rules: unknown[]; models?: unknown[]; hosts?: unknown[]; budget?: number }) {
  process.env.AFS_ALERT_ALLOW_HOSTS = "127.0.0.1";
  process.env.AFS_TEST_HOOK_URL = `${receiver.url}/hook/secret-token`;
  process.env.AFS_PUBLIC_URL = "https://afs.example.com";
  receiver.requests.length = 0;
  vi.useFakeTimers({ toFake: ["Date"] });
  vi.setSystemTime(T0);
  return makeDataDir({
    config: {
      session: { name: "Night runs", ...(budget ? { budget_usd: budget } : {}) },
      ...(hosts ? { hosts } : {}),
      models,
      alerts: { channels: [{ name: "team", type, url_env: "AFS_TEST_HOOK_URL" }], rules },
    },
  });
}
const at = async (ms: number) => {
  vi.setSystemTime(ms);
  await runAlerts({ now: ms });
};
const post = async (body: { model_key: string; status: string; progress: number }) => expect((await call(POST, { init: postJson(body) })).status).toBe(200);
const alerts = async () => (await (await call(getAlerts)).json()) as AlertsResponse;
const texts = () => receiver.requests.map((r) => (r.body as { text: string }).text);

describe("alerts", () => {
  it("says once that a run completed, with its time, cost and link", async () => {
    setup({ rules: [{ name: "run finished", when: "model_completed", channels: ["team"] }], models: [{ key: "veran-v5", name: "Veran v5", cost_per_hour: 1.2 }] });
    await at(T0);
    await post({ model_key: "veran-v5", status: "running", progress: 10 });
    vi.setSystemTime(T0 + 192 * MIN);
    await post({ model_key: "veran-v5", status: "completed", progress: 100 });
    await at(T0 + 192 * MIN);
    await at(T0 + 200 * MIN);
    // 3 h 12 min at $1.20/h = $3.84
    expect(texts()).toEqual(["Veran v5 completed: 3 h 12 min, $3.84"]);
    const [slack] = receiver.requests;
    expect(slack.path).toBe("/hook/secret-token");
    expect(JSON.stringify(slack.body)).toContain("https://afs.example.com/?tab=models");
    const answer = await alerts();
    expect(answer).toMatchObject({ firing: 1, alerts: [{ rule: "run finished", subject: "veran-v5", state: "firing", deliveries: [{ channel: "team", state: "delivered", attempts: 1 }] }] });
  });

  it("does not announce a run that ended before the rule existed", async () => {
    setup({ rules: [], models: [{ key: "old", name: "Old", status: "running" }] });
    await post({ model_key: "old", status: "completed", progress: 100 });
    await stopLiveState();
    // The rule arrives in the config a minute later.
    const dir = process.env.AFS_DATA_DIR!;
    const config = JSON.parse(fs.readFileSync(path.join(dir, "afs.config.json"), "utf8"));
    config.alerts.rules = [{ name: "run finished", when: "model_completed", channels: ["team"] }];
    writeFile(dir, "afs.config.json", JSON.stringify(config));
    await at(T0 + MIN);
    expect(receiver.requests).toEqual([]);
  });

  it("fires when a run stalls and resolves when it writes again, one message each", async () => {
    const dir = setup({ type: "webhook", rules: [{ name: "run stalled", when: "run_stalled", for_minutes: 15, channels: ["team"] }], models: [{ key: "alpha", name: "Alpha" }] });
    const row = (step: number, ms: number) => ({ step, loss: 2 - step / 100, time: ms / 1000 });
    writeFile(dir, "runs/alpha/train.jsonl", jsonl([row(1, T0), row(2, T0 + MIN)]));
    await at(T0 + MIN);
    // AFS_STALE_MINUTES (10) after its last record it stalls: pending until 15 min after that
    // record, then firing
    await at(T0 + 12 * MIN);
    expect((await alerts()).alerts).toMatchObject([{ state: "pending" }]);
    await at(T0 + 16 * MIN);
    await at(T0 + 17 * MIN);
    fs.appendFileSync(path.join(dir, "runs/alpha/train.jsonl"), jsonl([row(3, T0 + 18 * MIN)]));
    await at(T0 + 18 * MIN);
    await at(T0 + 19 * MIN);
    expect(receiver.requests.map((r) => (r.body as { kind: string }).kind)).toEqual(["firing", "resolved"]);
    const [firing, resolved] = receiver.requests.map((r) => r.body as Record<string, unknown>);
    expect(firing).toMatchObject({ version: 1, rule: "run stalled", subject: "alpha", title: "Alpha stalled", text: "Alpha stalled: no new record for 15 min, at 0%", session: "Night runs" });
    // what it last said while it held
    expect(resolved).toMatchObject({ kind: "resolved", text: "Resolved after 17 min: Alpha stalled: no new record for 16 min, at 0%" });
    // each notification carries its own idempotency key, also as a header
    expect(receiver.requests.map((r) => r.headers["idempotency-key"])).toEqual([firing.id, resolved.id]);
    expect((await alerts()).alerts).toMatchObject([{ state: "resolved", resolved_at: new Date(T0 + 18 * MIN).toISOString() }]);
  });

  it("tells once when the budget crosses 80 %", async () => {
    setup({ rules: [{ name: "budget 80%", when: "budget_spent", threshold_percent: 80, channels: ["team"] }], models: [{ key: "a", name: "A", cost_per_hour: 2 }], budget: 10 });
    await at(T0);
    await post({ model_key: "a", status: "running", progress: 1 });
    // $2/h: $7.80 at 3.9 h, $8.20 at 4.1 h, $9.00 at 4.5 h
    for (const hours of [3.9, 4.1, 4.5]) await at(T0 + hours * 60 * MIN);
    expect(texts()).toEqual(["82% of the budget spent: $8.20 of $10.00 (threshold 80%)"]);
  });

  it("fires once for a GPU flapping around the limit in the replayed capture, and resolves", async () => {
    setup({ type: "webhook", rules: [{ name: "GPU hot", when: "gpu_temperature", above_c: 55, for_minutes: 0.05, channels: ["team"] }] });
    const ticks = parseGpuCsv({ text: fs.readFileSync(path.join(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv"), "utf8") }).readings;
    for (const { timestamp, reading } of ticks) {
      receiveSharedGpuSnapshot({ source: "replay", status: "ok", sampled_at: new Date(timestamp!).toISOString(), gpus: [{ ...reading, processes: [] }] });
      await at(timestamp!);
    }
    // Above 55 °C seven times; only 09:56:51.274-09:56:54.806 lasts the 3 s the rule asks for.
    expect(receiver.requests.map((r) => [(r.body as { kind: string }).kind, (r.body as { text: string }).text, (r.body as { at: string }).at])).toEqual([
      ["firing", "GPU 0 on local at 57 °C: above 55 °C", "2026-11-26T09:56:54.300Z"],
      ["resolved", "Resolved after 4 s: GPU 0 on local at 57 °C: above 55 °C", "2026-11-26T09:56:54.806Z"],
    ]);
  });

  it("tells when a billed GPU idles and when it works again", async () => {
    vi.useRealTimers();
    process.env.AFS_IDLE_MINUTES = String(2 / 60);
    setup({ type: "webhook", rules: [{ name: "idle GPU billed", when: "gpu_idle", channels: ["team"] }], models: [{ key: "a", name: "A", status: "running", cost_per_hour: 2.5 }] });
    vi.useRealTimers();
    startIdleWatch({ utilPercent: 5 });
    const reading = (utilization: number) => {
      const at = new Date().toISOString();
      publishEvent({ type: "gpu", data: { source: "replay", status: "ok", sampled_at: at, host: "local", gpus: [{ ...IDLE_READING, utilization, processes: [] }] } });
    };
    try {
      reading(0);
      await new Promise((r) => setTimeout(r, 2100));
      reading(0);
      await runAlerts({ now: Date.now() });
      reading(90);
      await runAlerts({ now: Date.now() });
      expect(receiver.requests.map((r) => [(r.body as { kind: string }).kind, (r.body as { title: string }).title])).toEqual([
        ["firing", "GPU 0 on local idle while billed"],
        ["resolved", expect.stringMatching(/^Resolved: GPU 0 on local idle while billed: idle for \d s, billed \$2\.50\/h$/)],
      ]);
    } finally {
      delete process.env.AFS_IDLE_MINUTES;
    }
  });

  it("fires when a host goes unreachable", async () => {
    vi.useRealTimers();
    process.env.AFS_GPU_INTERVAL_MS = "100";
    setup({ type: "webhook", rules: [{ name: "host down", when: "host_unreachable", channels: ["team"] }], hosts: [{ name: "rack-3", gpu: "dcgm-exporter:http://127.0.0.1:9/metrics" }] });
    vi.useRealTimers();
    await runAlerts({ now: Date.now() });
    startFleet();
    await until(async () => {
      await runAlerts({ now: Date.now() });
      return receiver.requests.length > 0;
    });
    expect(receiver.requests[0].body).toMatchObject({ kind: "firing", subject: "rack-3", title: "rack-3 unreachable" });
  });

  it("waits out Discord's retry_after, and delivers once", async () => {
    setup({ type: "discord", rules: [{ name: "run failed", when: "model_failed", channels: ["team"] }], models: [{ key: "a", name: "A", status: "running" }] });
    await at(T0);
    receiver.queueAnswers(discordAnswers.rateLimited);
    await post({ model_key: "a", status: "failed", progress: 40 });
    await at(T0 + 1000);
    expect((await alerts()).alerts[0].deliveries).toMatchObject([{ state: "retrying", attempts: 1, last_error: expect.stringContaining("429") }]);
    // the first retry is 5 s on (longer than Discord's 0.5 s)
    await at(T0 + 5000);
    expect(receiver.requests).toHaveLength(1);
    await at(T0 + 7000);
    await at(T0 + 20_000);
    expect(receiver.requests).toHaveLength(2);
    expect((await alerts()).alerts[0].deliveries).toMatchObject([{ state: "delivered", attempts: 2 }]);
  });

  it("retries while the receiver is down and delivers once it is back", async () => {
    const down = await startAlertReceiver();
    const port = down.port;
    await down.close();
    setup({ type: "webhook", rules: [{ name: "run failed", when: "model_failed", channels: ["team"] }], models: [{ key: "a", name: "A", status: "running" }] });
    process.env.AFS_TEST_HOOK_URL = `http://127.0.0.1:${port}/hook`;
    await stopLiveState();
    await at(T0);
    await post({ model_key: "a", status: "failed", progress: 40 });
    await at(T0 + 1000);
    await at(T0 + 7000);
    expect((await alerts()).alerts[0].deliveries).toMatchObject([{ state: "retrying", attempts: 2, last_error: expect.stringContaining("could not be reached") }]);
    const back = await startAlertReceiver({ port });
    try {
      await at(T0 + 30_000);
      await at(T0 + 60_000);
      expect(back.requests).toHaveLength(1);
      expect((await alerts()).alerts[0].deliveries).toMatchObject([{ state: "delivered", attempts: 3 }]);
    } finally {
      await back.close();
    }
  });

  it("marks a Slack webhook that is gone as broken and says so", async () => {
    setup({ rules: [{ name: "run failed", when: "model_failed", channels: ["team"] }], models: [{ key: "a", name: "A", status: "running" }] });
    await at(T0);
    receiver.queueAnswers({ kind: "reply", status: 404, body: "no_team" });
    await post({ model_key: "a", status: "failed", progress: 40 });
    await at(T0 + 1000);
    await at(T0 + 60 * MIN);
    expect(receiver.requests).toHaveLength(1);
    const answer = await alerts();
    expect(answer.alerts[0].deliveries).toMatchObject([{ state: "broken", attempts: 1 }]);
    expect(answer.warnings).toEqual([expect.stringMatching(/^alerts: channel "team" is broken: Slack says .* is gone/)]);
    expect(JSON.stringify(answer)).not.toContain("secret-token");
  });

  it("sends a test message on demand", async () => {
    vi.useRealTimers();
    setup({ type: "webhook", rules: [] });
    vi.useRealTimers();
    const res = await call(testChannel, { init: postJson({ channel: "team" }) });
    expect(await res.json()).toEqual({ channel: "team", state: "delivered" });
    expect(receiver.requests[0].body).toMatchObject({ kind: "test", title: "Test message from Night runs" });
    expect((await call(testChannel, { init: postJson({ channel: "nope" }) })).status).toBe(404);
    expect((await call(testChannel, { init: { method: "POST", headers: { "content-type": "application/json" }, body: '{"channel":"team"}' } })).status).toBe(401);
  });
});
