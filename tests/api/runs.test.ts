import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GET as getLoss } from "@/app/api/metrics/training-loss/route";
import { GET as getThroughput } from "@/app/api/metrics/throughput/route";
import { GET as getRuns } from "@/app/api/models/[key]/runs/route";
import { GET as getScalars } from "@/app/api/models/[key]/scalars/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { POST } from "@/app/api/update-status/route";
import { storeRows } from "../support/store";
import { call, makeDataDir, postJson, writeFile } from "../helpers";

const FIXTURE = path.join(__dirname, "..", "fixtures", "majora-v1");
const realState = JSON.parse(fs.readFileSync(path.join(FIXTURE, "trainer_state.json"), "utf8"));

function withMajoraRun() {
  const dir = makeDataDir({ models: [{ key: "majora-v1", name: "Majora v1", status: "pending", cost_per_hour: 2 }, { key: "veran-v5" }] });
  fs.cpSync(FIXTURE, path.join(dir, "runs", "majora-v1"), { recursive: true });
  return dir;
}

describe("training curves from the real Majora run", () => {
  it("answers train and validation loss per step, equal to trainer_state.json", async () => {
    withMajoraRun();
    const body = await (await call(getLoss, { url: "/api/metrics/training-loss?model=majora-v1" })).json();
    expect(body.source).toBe("runs");
    const train = body.metrics.filter((r: { train_loss: number | null }) => r.train_loss !== null);
    const val = body.metrics.filter((r: { val_loss: number | null }) => r.val_loss !== null);
    expect(train).toHaveLength(80);
    expect(val).toHaveLength(8);
    for (const row of realState.log_history) {
      const got = body.metrics.find((r: { step: number }) => r.step === row.step);
      if ("loss" in row) expect(got.train_loss).toBeCloseTo(Math.fround(row.loss), 6);
      if ("eval_loss" in row) expect(got.val_loss).toBeCloseTo(Math.fround(row.eval_loss), 6);
    }
    expect(body.metrics[0]).toMatchObject({ model: "majora-v1", step: 5, timestamp: expect.stringMatching(/^2026-11-26T/) });
  });

  it("a run folder dropped into runs/ appears on the next request", async () => {
    const dir = makeDataDir({ models: [{ key: "majora-v1", name: "Majora v1" }] });
    expect(await (await call(getLoss, { url: "/api/metrics/training-loss" })).json()).toEqual({ metrics: [], non_finite: [], source: "none" });
    fs.cpSync(FIXTURE, path.join(dir, "runs", "majora-v1"), { recursive: true });
    const body = await (await call(getLoss, { url: "/api/metrics/training-loss" })).json();
    expect(body.source).toBe("runs");
    expect(body.metrics.filter((r: { train_loss: number | null }) => r.train_loss !== null)).toHaveLength(80);
  });

  it("downsamples to `points` per series, keeping the extremes", async () => {
    withMajoraRun();
    const body = await (await call(getLoss, { url: "/api/metrics/training-loss?model=majora-v1&points=10" })).json();
    const train = body.metrics.filter((r: { train_loss: number | null }) => r.train_loss !== null).map((r: { train_loss: number }) => r.train_loss);
    expect(train.length).toBeLessThanOrEqual(10);
    const all = realState.log_history.filter((r: { loss?: number }) => "loss" in r).map((r: { loss: number }) => Math.fround(r.loss));
    expect(Math.max(...train)).toBeCloseTo(Math.max(...all), 6);
    expect(Math.min(...train)).toBeCloseTo(Math.min(...all), 6);
  });

  it("answers throughput, the run's files and any scalar by tag; bad input gets 400/404", async () => {
    withMajoraRun();
    const tp = await (await call(getThroughput, { url: "/api/metrics/throughput" })).json();
    expect(tp.metrics).toEqual([{ model: "majora-v1", step: 400, samples_per_sec: Math.fround(564.049), tokens_per_sec: null, timestamp: expect.any(String) }]);
    const runs = await (await call(getRuns, { params: { key: "majora-v1" } })).json();
    expect(runs.progress).toEqual({ global_step: 400, max_steps: 400, epoch: 0.64, num_train_epochs: 1, percent: 100 });
    // The newest record's own time (the final evaluation), not a file's mtime.
    expect(runs.last_record_at).toMatch(/^2026-11-26T/);
    expect(runs.last_record_approximate).toBe(false);
    expect(runs.completed).toBe(true);
    expect(runs.files.map((f: { kind: string }) => f.kind).sort()).toEqual(["events", "events", "trainer_state"]);
    const lr = await (await call(getScalars, { url: "/api/models/majora-v1/scalars?tag=train/learning_rate", params: { key: "majora-v1" } })).json();
    expect(lr.points).toHaveLength(80);
    const missing = await call(getScalars, { url: "/api/models/majora-v1/scalars?tag=nope", params: { key: "majora-v1" } });
    expect(missing.status).toBe(404);
    expect((await missing.json()).details.tags).toContain("train/loss");
    expect((await call(getLoss, { url: "/api/metrics/training-loss?points=abc" })).status).toBe(400);
    expect((await call(getLoss, { url: "/api/metrics/training-loss?model=ghost" })).status).toBe(404);
  });
});

describe("status, progress and cost from run data", () => {
  it("a trainer_state.json that moves forward makes the model running, then completed", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live", status: "pending", cost_per_hour: 2 }] });
    const state = (step: number, summary: boolean) => ({
      ...realState,
      global_step: step,
      log_history: realState.log_history.filter((r: { step: number; train_runtime?: number }) => r.step <= step && (summary || !("train_runtime" in r))),
    });
    writeFile(dir, "runs/live/trainer_state.json", JSON.stringify(state(100, false)));
    expect(await (await call(getModel, { params: { key: "live" } })).json()).toMatchObject({ status: "running", progress: 25 });

    // A posted status stands until newer run data arrives.
    await call(POST, { init: postJson({ model_key: "live", status: "paused", progress: 25 }) });
    expect(await (await call(getModel, { params: { key: "live" } })).json()).toMatchObject({ status: "paused" });

    await new Promise((r) => setTimeout(r, 20)); // a newer mtime than the POST
    writeFile(dir, "runs/live/trainer_state.json", JSON.stringify(state(300, false)));
    expect(await (await call(getModel, { params: { key: "live" } })).json()).toMatchObject({ status: "running", progress: 75 });

    writeFile(dir, "runs/live/trainer_state.json", JSON.stringify(state(400, true)));
    const done = await (await call(getModel, { params: { key: "live" } })).json();
    expect(done).toMatchObject({ status: "completed", progress: 100 });
    const history = await storeRows("SELECT status, progress, source FROM status_updates ORDER BY id");
    expect(history).toEqual([
      { status: "running", progress: 25, source: "run" },
      { status: "paused", progress: 25, source: "api" },
      { status: "running", progress: 75, source: "run" },
      { status: "completed", progress: 100, source: "run" },
    ]);
  });

  it("a run that stops writing before the end is stalled, showing its own progress and since when", async () => {
    process.env.AFS_STALE_MINUTES = "1";
    try {
      const dir = makeDataDir({ models: [{ key: "live", name: "Live", status: "running", progress: 10, cost_per_hour: 2 }] });
      const file = writeFile(dir, "runs/live/trainer_state.json", JSON.stringify({ ...realState, global_step: 100, log_history: [] }));
      const old = new Date(Math.floor(Date.now() / 1000) * 1000 - 5 * 60_000);
      fs.utimesSync(file, old, old);
      const { GET: getModels } = await import("@/app/api/models/status/route");
      const body = await (await call(getModels)).json();
      expect(body.models[0]).toMatchObject({ status: "running", progress: 25, stalled_since: old.toISOString() });
      expect(body.warnings).toEqual(["live: run stalled: no new record for 5 min"]);
    } finally {
      delete process.env.AFS_STALE_MINUTES;
    }
  });

  it("counts a live run's wall time as GPU hours when none are configured, and says so", async () => {
    const dir = makeDataDir({ models: [{ key: "live", name: "Live", cost_per_hour: 2 }] });
    const now = Date.now();
    const rows = [20, 10, 1].map((minutesAgo, i) => ({ step: (i + 1) * 10, loss: 3 - i, time: new Date(now - minutesAgo * 60_000).toISOString() }));
    writeFile(dir, "runs/live/log.jsonl", rows.map((r) => JSON.stringify(r)).join("\n") + "\n");
    const model = await (await call(getModel, { params: { key: "live" } })).json();
    expect(model).toMatchObject({ status: "running", gpu_hours_source: "run_files", total_cost_source: "run_files", last_update: rows[2].time });
    expect(model.gpu_hours).toBeCloseTo(19 / 60, 4);
    expect(model.total_cost).toBeCloseTo((19 / 60) * 2, 4);
  });

  it("a copied old run stays completed, keeps its record times and is not charged", async () => {
    withMajoraRun();
    const model = await (await call(getModel, { params: { key: "majora-v1" } })).json();
    // The real run's records end on 2026-11-26; its files were copied just now.
    expect(model).toMatchObject({ status: "completed", progress: 100, gpu_hours: 0, total_cost: 0, stalled_since: null });
    expect(model.last_update).toMatch(/^2026-11-26T/);
    const history = await storeRows("SELECT status, progress, source FROM status_updates ORDER BY id");
    expect(history).toEqual([{ status: "completed", progress: 100, source: "run" }]);
  });
});
