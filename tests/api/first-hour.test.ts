import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GET as getCosts } from "@/app/api/costs/breakdown/route";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getLoss } from "@/app/api/metrics/training-loss/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getRegistry } from "@/app/api/models/registry/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { POST } from "@/app/api/update-status/route";
import { insertStatusRows, storeRows } from "../support/store";
import { call, jsonl, makeDataDir, postJson, writeFile } from "../helpers";
import { scalarEvent } from "../runs/helpers";

// The findings of "Your own run in the first hour", one block each, against a new user's setup.
const FIXTURE = path.join(__dirname, "..", "fixtures", "majora-v1");
const json = async (res: Response | Promise<Response>) => (await res).json();
const HALF_STATE = fs.readFileSync(path.join(FIXTURE, "checkpoint-200", "trainer_state.json"), "utf8");

describe("1. a forgiving config", () => {
  it("shows models configured by key and name alone, with the run's progress", async () => {
    const dir = makeDataDir({
      config: {
        session: { name: "My run", budget_usd: 25, default_cost_per_hour: 2.5 },
        models: [
          { key: "majora-v1", name: "Majora v1" },
          { key: "half", name: "Half way" },
          { key: "idle", name: "Not started" },
        ],
      },
    });
    fs.cpSync(FIXTURE, path.join(dir, "runs", "majora-v1"), { recursive: true });
    writeFile(dir, "runs/half/trainer_state.json", HALF_STATE);
    const body = await json(call(getModels));
    expect(body.models.map((m: { key: string; status: string; progress: number }) => [m.key, m.status, m.progress])).toEqual([
      ["majora-v1", "completed", 100],
      ["half", "running", 50],
      ["idle", "pending", 0],
    ]);
    expect(body.models.every((m: { cost_per_hour: number; config_errors: string[] }) => m.cost_per_hour === 2.5 && m.config_errors.length === 0)).toBe(true);
    expect(body.warnings).toEqual([]);
    const training = await json(call(getTraining));
    expect(training).toMatchObject({ budget_usd: 25, models_completed: 1, models_in_progress: 1, models_pending: 1 });
    expect(await json(call(getHealth))).toMatchObject({ status: "healthy", warning_count: 0 });
  });

  it("shows a model with an invalid field at that field's default, with the error on the model, and keeps the rest", async () => {
    makeDataDir({
      config: {
        session: { name: "My run", budget_usd: "ten", currency: "EUR" },
        models: [
          { key: "good", name: "Good", status: "running", progress: 40, cost_per_hour: 2 },
          { key: "typo", name: "Typo", status: "runing", progress: 30, cost_per_hour: 2, colour: "red" },
        ],
      },
    });
    const body = await json(call(getModels));
    const [good, typo] = body.models;
    expect(good).toMatchObject({ key: "good", status: "running", progress: 40, config_errors: [] });
    expect(typo).toMatchObject({ key: "typo", status: "pending", progress: 30, cost_per_hour: 2 });
    expect(typo.config_errors).toEqual([
      'status: Invalid option: expected one of "pending"|"running"|"paused"|"completed"|"failed"',
      "colour: unknown field",
    ]);
    expect(body.warnings).toEqual([
      "afs.config.json: session.budget_usd: Invalid input: expected number, received string (using the default)",
      'afs.config.json: models[1].status: Invalid option: expected one of "pending"|"running"|"paused"|"completed"|"failed" (using the default)',
      "afs.config.json: models[1].colour: unknown field (using the default)",
    ]);
    const health = await call(getHealth);
    expect(health.status).toBe(200);
    expect(await health.json()).toMatchObject({ status: "degraded", warning_count: 3 });
    const costs = await json(call(getCosts));
    expect(costs.budget_usd).toBeNull();
  });

  it("counts a model without any rate at 0 and says so", async () => {
    makeDataDir({ config: { models: [{ key: "free", name: "Free" }] } });
    const body = await json(call(getModels));
    expect(body.models[0]).toMatchObject({ cost_per_hour: 0, total_cost: 0 });
    expect(body.warnings).toEqual(["afs.config.json: models[0] (free): no cost_per_hour and no session.default_cost_per_hour; its cost counts as 0"]);
  });
});

describe("2. a run that stopped an hour ago", () => {
  it("shows the run's own progress and since when it stalled, not the config's 0 %", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live", status: "running", cost_per_hour: 2 }] });
    const file = writeFile(dir, "runs/live/trainer_state.json", HALF_STATE);
    const hourAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 3_600_000);
    fs.utimesSync(file, hourAgo, hourAgo);
    const model = await json(call(getModel, { params: { key: "live" } }));
    expect(model).toMatchObject({ status: "running", progress: 50, stalled_since: hourAgo.toISOString() });
  });

  it("keeps a status posted after the run's newest record", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live", status: "running", cost_per_hour: 2 }] });
    const file = writeFile(dir, "runs/live/trainer_state.json", HALF_STATE);
    const hourAgo = new Date(Date.now() - 3_600_000);
    fs.utimesSync(file, hourAgo, hourAgo);
    await call(POST, { init: postJson({ model_key: "live", status: "paused", progress: 55 }) });
    expect(await json(call(getModel, { params: { key: "live" } }))).toMatchObject({ status: "paused", progress: 55, stalled_since: null });
  });
});

describe("3. record times from records", () => {
  it("never takes last_update from the config file's mtime", async () => {
    const dir = makeDataDir({ models: [{ key: "quiet", name: "Quiet" }] });
    const old = new Date("2020-01-01T00:00:00Z");
    fs.utimesSync(path.join(dir, "afs.config.json"), old, old);
    const before = Date.now();
    const first = await json(call(getModel, { params: { key: "quiet" } }));
    // When the dashboard first saw the model, and the same on every later read.
    expect(Date.parse(first.last_update)).toBeGreaterThanOrEqual(before - 1000);
    await new Promise((r) => setTimeout(r, 20));
    expect((await json(call(getModel, { params: { key: "quiet" } }))).last_update).toBe(first.last_update);
  });

  it("never flips an old unfinished run to running, nor charges its time", async () => {
    const dir = makeDataDir({ models: [{ key: "copied", name: "Copied", cost_per_hour: 2 }] });
    const start = Math.floor(Date.now() / 1000) * 1000 - 2 * 86_400_000;
    const events = [1, 2, 3].map((i) => scalarEvent({ tag: "loss", step: i * 10, value: 3 - i / 2, wall_time: (start + i * 3_600_000) / 1000 }));
    writeFile(dir, "runs/copied/events.out.tfevents.1.host", Buffer.concat(events));
    const model = await json(call(getModel, { params: { key: "copied" } }));
    expect(model).toMatchObject({ status: "pending", gpu_hours: 0, total_cost: 0, last_update: new Date(start + 3 * 3_600_000).toISOString() });
    expect(await storeRows("SELECT count(*) AS n FROM status_updates")).toEqual([{ n: 0 }]);
  });

  it("charges a run seen live for its whole wall time, including before the dashboard started", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live", cost_per_hour: 2 }] });
    const now = Date.now();
    const events = [60, 30, 1].map((min, i) => scalarEvent({ tag: "loss", step: (i + 1) * 10, value: 3 - i, wall_time: (now - min * 60_000) / 1000 }));
    writeFile(dir, "runs/live/events.out.tfevents.1.host", Buffer.concat(events));
    const model = await json(call(getModel, { params: { key: "live" } }));
    expect(model).toMatchObject({ status: "running", gpu_hours_source: "run_files" });
    expect(model.gpu_hours).toBeCloseTo(59 / 60, 3);
  });
});

describe("4. the last good read of a file caught mid-write", () => {
  it("keeps the loss curve while trainer_state.json is half written, and says so", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live" }] });
    const full = fs.readFileSync(path.join(FIXTURE, "trainer_state.json"), "utf8");
    writeFile(dir, "runs/live/trainer_state.json", full);
    const url = "/api/metrics/training-loss?model=live";
    const good = await json(call(getLoss, { url }));
    expect(good.metrics).toHaveLength(80);

    writeFile(dir, "runs/live/trainer_state.json", full.slice(0, Math.floor(full.length / 2)));
    const during = await json(call(getLoss, { url }));
    expect(during).toEqual(good);
    const warnings = (await json(call(getModels))).warnings;
    expect(warnings).toEqual(["live: runs/live/trainer_state.json: invalid JSON (the text ends early); showing the last good read"]);

    writeFile(dir, "runs/live/trainer_state.json", full);
    expect((await json(call(getModels))).warnings).toEqual([]);
  });
});

describe("5. estimates that hold", () => {

  it("gives no estimate from two updates 0.2 s apart", async () => {
    makeDataDir({ models: [{ key: "a", name: "A" }] });
    await call(POST, { init: postJson({ model_key: "a", status: "running", progress: 70 }) });
    await new Promise((r) => setTimeout(r, 200));
    await call(POST, { init: postJson({ model_key: "a", status: "running", progress: 70.5 }) });
    const body = await json(call(getTraining));
    expect(body.estimated_completion).toBeNull();
    expect(body.estimate).toEqual({ at: null, models: [{ key: "a", at: null, reason: "needs progress of at least 1 point over at least 60 s" }] });
  });

  it("marks a passed estimate overdue and lists every running model", async () => {
    makeDataDir({ models: [{ key: "late", name: "Late" }, { key: "ok", name: "OK" }, { key: "blind", name: "Blind", status: "running" }] });
    const now = Date.now();
    const iso = (ms: number) => new Date(ms).toISOString();
    // 10 → 60 % in 30 min: expected 24 min after the second update, which was 3 h ago.
    await insertStatusRows([
      { model_key: "late", status: "running", progress: 10, at: iso(now - 3.5 * 3_600_000) },
      { model_key: "late", status: "running", progress: 60, at: iso(now - 3 * 3_600_000) },
    // 20 → 40 % in the last hour: 3 h more.
      { model_key: "ok", status: "running", progress: 20, at: iso(now - 3_600_000) },
      { model_key: "ok", status: "running", progress: 40, at: iso(now) },
    ]);
    const body = await json(call(getTraining));
    const okAt = iso(now + 3 * 3_600_000);
    expect(body.estimated_completion).toBe(okAt);
    expect(body.estimate).toEqual({
      at: okAt,
      models: [
        { key: "late", at: null, reason: `overdue: expected by ${iso(now - 3 * 3_600_000 + 24 * 60_000)}` },
        { key: "ok", at: okAt },
        { key: "blind", at: null, reason: "no progress updates or timed run records yet" },
      ],
    });
  });

  it("estimates a run from its own timed records", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live" }] });
    const now = Math.floor(Date.now() / 1000) * 1000;
    writeFile(dir, "runs/live/trainer_state.json", HALF_STATE); // max_steps 400
    // Steps 100 → 200 over the last 10 minutes: 200 steps left take 20 minutes.
    const events = [[100, 10], [200, 0]].map(([step, min]) => scalarEvent({ tag: "loss", step, value: 1, wall_time: (now - min * 60_000) / 1000 }));
    writeFile(dir, "runs/live/events.out.tfevents.1.host", Buffer.concat(events));
    const body = await json(call(getTraining));
    expect(body.estimate.models).toEqual([{ key: "live", at: new Date(now + 20 * 60_000).toISOString() }]);
  });
});

describe("6. exact arithmetic", () => {
  it("answers hourly_rate 2.5 for a model at a flat 2.50/h at every poll", async () => {
    const rates = [];
    // Polls a minute or two into a run: from rounded figures, 0.0171 h × 2.5 = 0.04275 → 0.0428, a rate of 2.5029.
    for (let i = 0; i < 12; i++) {
      makeDataDir({ models: [{ key: "a", name: "A", cost_per_hour: 2.5 }] });
      await insertStatusRows([{ model_key: "a", status: "running", progress: 10, at: new Date(Date.now() - (61_000 + 13_000 * i)).toISOString() }]);
      rates.push((await json(call(getCosts))).hourly_rate);
    }
    expect(rates).toEqual(Array(12).fill(2.5));
  });

  it("answers sizes in bytes beside the seed's megabytes", async () => {
    const content = jsonl(Array.from({ length: 37 }, (_, i) => ({ text: "x".repeat(i * 31) })));
    makeDataDir({ models: [{ key: "a", name: "A" }], files: { "models/a_merged.jsonl": content } });
    const model = await json(call(getModel, { params: { key: "a" } }));
    expect(model.file_size_bytes).toBe(Buffer.byteLength(content));
    expect((await json(call(getRegistry))).models[0].file_size_bytes).toBe(Buffer.byteLength(content));
  });
});

describe("7. every number says where it comes from", () => {
  it("marks configured, status-history and run figures", async () => {
    makeDataDir({
      models: [
        { key: "conf", name: "Configured", gpu_hours: 0.8, cost_per_hour: 1.2 },
        { key: "hist", name: "History", cost_per_hour: 1.2 },
      ],
    });
    await call(POST, { init: postJson({ model_key: "hist", status: "running", progress: 5 }) });
    const [conf, hist] = (await json(call(getModels))).models;
    expect(conf).toMatchObject({ gpu_hours: 0.8, total_cost: 0.96, gpu_hours_source: "configured", total_cost_source: "configured" });
    expect(hist).toMatchObject({ gpu_hours_source: "status_history", total_cost_source: "status_history" });
  });
});
