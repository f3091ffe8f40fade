import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readModelRun } from "@/lib/runs/model-run";
import { readTrainerState } from "@/lib/runs/trainer-state";
import { EVENT_FILE, FINAL_EVAL_EVENT_FILE, FIXTURE_RUN, makeDataDir, makeTempDir, readTrainerStateFixture, scalarEvent } from "./helpers";

describe("readModelRun on the captured majora-v1 run", () => {
  it("reports progress 400/400, completed, and the series from the event files", async () => {
    const { dataDir } = makeDataDir({ key: "majora-v1", copyFixture: true });
    const run = await readModelRun({ dataDir, key: "majora-v1" });
    expect(run.progress).toEqual({ global_step: 400, max_steps: 400, epoch: 0.64, num_train_epochs: 1, percent: 100 });
    expect(run.completed).toBe(true);
    expect(run.warnings).toEqual([]);
    expect(run.files.map((f) => [f.path, f.kind])).toEqual([
      [`runs/majora-v1/${EVENT_FILE}`, "events"],
      [`runs/majora-v1/${FINAL_EVAL_EVENT_FILE}`, "events"],
      ["runs/majora-v1/trainer_state.json", "trainer_state"],
    ]);
    expect(run.files[2]).toMatchObject({ size_bytes: 16449, first_step: 5, last_step: 400, first_time: null, last_time: null });
    expect(run.files[2].tags).toContain("eval_loss");

    const rows = readTrainerStateFixture().log_history;
    const losses = rows.filter((r) => r.loss !== undefined);
    // Event files outrank trainer_state.json, so the float32 values win.
    expect(run.series.train_loss.map((p) => [p.step, p.value])).toEqual(losses.map((r) => [r.step, Math.fround(r.loss)]));
    expect(run.series.train_loss.every((p) => p.wall_time !== null)).toBe(true);
    expect(run.series.learning_rate.map((p) => p.value)).toEqual(losses.map((r) => Math.fround(r.learning_rate)));
    expect(run.series.val_loss.map((p) => p.step)).toEqual([50, 100, 150, 200, 250, 300, 350, 400]);
    expect(run.series.samples_per_sec).toMatchObject([{ step: 400, value: Math.fround(564.049), wall_time: expect.any(Number) }]);
    expect(run.series.tokens_per_sec).toEqual([]);

    // Both event files hold eval/runtime at step 400: the later one (the final evaluation) is kept.
    expect(run.scalars.get("eval/runtime")?.at(-1)).toMatchObject({ step: 400, value: Math.fround(0.2800999879837036) });
    expect(run.scalars.get("eval_runtime")?.at(-1)).toMatchObject({ step: 400, value: 0.4346, wall_time: null });
    // The newest record's own time, however recently the files were copied.
    const newest = Math.max(...run.files.map((f) => f.last_time ?? 0));
    expect(run.last_record_at).toBe(newest);
    expect(new Date(newest).toISOString()).toMatch(/^2026-11-26T/);
    expect(run.last_record_approximate).toBe(false);
    expect(run.step_times).toEqual({ first: { step: 5, at: run.files[0].first_time }, last: { step: 400, at: newest } });
  });

  it("lets a model override a series' aliases", async () => {
    const { dataDir } = makeDataDir({ key: "majora-v1", copyFixture: true });
    const run = await readModelRun({ dataDir, key: "majora-v1", aliases: { tokens_per_sec: ["train/grad_norm"] } });
    expect(run.series.tokens_per_sec).toHaveLength(80);
    expect(run.series.train_loss).toHaveLength(80);
  });
});

describe("trainer_state.json", () => {
  it("is not completed while global_step < max_steps and no summary row exists", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "half", copyFixture: false });
    fs.copyFileSync(path.join(FIXTURE_RUN, "checkpoint-200/trainer_state.json"), path.join(runDir, "trainer_state.json"));
    const run = await readModelRun({ dataDir, key: "half" });
    expect(run.progress).toMatchObject({ global_step: 200, max_steps: 400, percent: 50 });
    expect(run.completed).toBe(false);
    // Without event files the series come from trainer_state.json, with the JSON's doubles.
    const losses = readTrainerStateFixture("checkpoint-200/trainer_state.json").log_history.filter((r) => r.loss !== undefined);
    expect(run.series.train_loss).toMatchObject(losses.map((r) => ({ step: r.step, value: r.loss, wall_time: null })));
    // trainer_state.json records no times: its mtime stands in, marked approximate.
    expect(run.last_record_at).toBe(fs.statSync(path.join(runDir, "trainer_state.json")).mtimeMs);
    expect(run.last_record_approximate).toBe(true);
  });

  it("comes from the highest checkpoint when the run root has none", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "live", copyFixture: true });
    fs.rmSync(path.join(runDir, "trainer_state.json"));
    const run = await readModelRun({ dataDir, key: "live" });
    expect(run.files.find((f) => f.kind === "trainer_state")?.path).toBe("runs/live/checkpoint-400/trainer_state.json");
    expect(run.progress).toMatchObject({ global_step: 400, max_steps: 400, percent: 100 });
  });

  it("keeps the summary row's mean train_loss out of the train_loss series", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "summary", copyFixture: false });
    const state = readTrainerStateFixture();
    // As when max_steps is not a multiple of logging_steps: the summary row has a step of its own.
    state.log_history.at(-1)!.step = 403;
    fs.writeFileSync(path.join(runDir, "trainer_state.json"), JSON.stringify({ ...state, global_step: 403, max_steps: 403 }));
    const run = await readModelRun({ dataDir, key: "summary" });
    expect(run.series.train_loss.at(-1)).toMatchObject({ step: 400, value: 0.030914551019668578, wall_time: null });
    expect(run.scalars.get("train_loss")).toMatchObject([{ step: 403, value: 1.0708763802424073, wall_time: null }]);
    expect(run.series.samples_per_sec).toMatchObject([{ step: 403, value: 564.049, wall_time: null }]);
    expect(run.completed).toBe(true);
  });

  it("keeps Python's NaN and Infinity as divergence markers, and turns a broken file into a warning", async () => {
    const dir = makeTempDir();
    const nan = path.join(dir, "nan.json");
    fs.writeFileSync(nan, '{"global_step": 10, "max_steps": 20, "log_history": [{"loss": 3, "step": 4}, {"loss": NaN, "grad_norm": -Infinity, "step": 5}, {"loss": 2.5, "step": 10, "note": "NaN"}]}');
    expect(await readTrainerState({ path: nan, dataDir: dir })).toMatchObject({
      points: [
        { tag: "loss", step: 4, value: 3, wall_time: null },
        { tag: "loss", step: 5, value: NaN, wall_time: null },
        { tag: "grad_norm", step: 5, value: -Infinity, wall_time: null },
        { tag: "loss", step: 10, value: 2.5, wall_time: null },
      ],
      progress: { global_step: 10, max_steps: 20 },
      warning: null,
    });

    const diverged = makeDataDir({ key: "diverged", copyFixture: false });
    fs.copyFileSync(nan, path.join(diverged.runDir, "trainer_state.json"));
    const divergedRun = await readModelRun({ dataDir: diverged.dataDir, key: "diverged" });
    // The curve keeps its finite points; the NaN is reported where it happened.
    expect(divergedRun.series.train_loss.map((p) => p.step)).toEqual([4, 10]);
    expect(divergedRun.non_finite).toEqual({ train_loss: { first_step: 5, count: 1 } });
    expect(divergedRun.scalars.get("grad_norm")).toMatchObject([{ step: 5, value: -Infinity, wall_time: null }]);
    expect(divergedRun.warnings).toEqual(["train_loss: 1 value(s) NaN or infinite (the run diverged?), first at step 5"]);

    const { dataDir, runDir } = makeDataDir({ key: "broken", copyFixture: false });
    fs.writeFileSync(path.join(runDir, "trainer_state.json"), '{"global_step": 1');
    const run = await readModelRun({ dataDir, key: "broken" });
    expect(run.warnings).toEqual(["runs/broken/trainer_state.json: invalid JSON (the text ends early)"]);
    expect(run.progress).toBeNull();
  });
});

describe("sources and the run folder", () => {
  it("keeps the event file's value where a JSONL log has the same tag and step", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "mixed", copyFixture: false });
    fs.writeFileSync(path.join(runDir, "events.out.tfevents.1.host"), scalarEvent({ tag: "loss", step: 1, value: 0.5, wall_time: 1_700_000_010 }));
    fs.mkdirSync(path.join(runDir, "logs"));
    fs.writeFileSync(path.join(runDir, "logs", "metrics.jsonl"), '{"step": 1, "loss": 9}\n{"step": 2, "loss": 0.25, "tokens_per_sec": 1200}\n');
    const run = await readModelRun({ dataDir, key: "mixed" });
    expect(run.series.train_loss).toMatchObject([
      { step: 1, value: 0.5, wall_time: 1_700_000_010_000 },
      { step: 2, value: 0.25, wall_time: null },
    ]);
    expect(run.series.tokens_per_sec).toMatchObject([{ step: 2, value: 1200, wall_time: null }]);
    expect(run.files.map((f) => [f.path, f.kind, f.tags])).toEqual([
      ["runs/mixed/events.out.tfevents.1.host", "events", ["loss"]],
      ["runs/mixed/logs/metrics.jsonl", "jsonl", ["loss", "tokens_per_sec"]],
    ]);
    expect(run.progress).toBeNull();
    expect(run.completed).toBe(false);
  });

  it("answers an unchanged run from memory and sees what was appended since", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "polled", copyFixture: false });
    const file = path.join(runDir, "events.out.tfevents.1.host");
    fs.writeFileSync(file, scalarEvent({ tag: "train/loss", step: 1, value: 2, wall_time: 1_700_000_010 }));
    const first = await readModelRun({ dataDir, key: "polled" });
    expect(await readModelRun({ dataDir, key: "polled" })).toBe(first);

    fs.appendFileSync(file, scalarEvent({ tag: "train/loss", step: 2, value: 1, wall_time: 1_700_000_020 }));
    const second = await readModelRun({ dataDir, key: "polled" });
    expect(second.series.train_loss.map((p) => [p.step, p.value, p.wall_time])).toEqual([
      [1, 2, 1_700_000_010_000],
      [2, 1, 1_700_000_020_000],
    ]);
    expect(second.files[0]).toMatchObject({ first_step: 1, last_step: 2, first_time: 1_700_000_010_000, last_time: 1_700_000_020_000 });
  });

  it("returns an empty result for a missing run folder and a warning for a bad key", async () => {
    const dataDir = makeTempDir();
    const empty = await readModelRun({ dataDir, key: "nothing-here" });
    expect(empty).toEqual({
      files: [],
      scalars: new Map(),
      series: { train_loss: [], val_loss: [], samples_per_sec: [], tokens_per_sec: [], learning_rate: [] },
      progress: null,
      completed: false,
      last_record_at: null,
      last_record_approximate: false,
      step_times: null,
      non_finite: {},
      warnings: [],
    });
    expect((await readModelRun({ dataDir, key: "../etc" })).warnings).toEqual(["runs/../etc: not a valid model key"]);
  });

  it("follows symlinks only inside the data dir, and only 4 folders deep", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "linked", copyFixture: false });
    const outside = makeTempDir();
    fs.writeFileSync(path.join(outside, "events.out.tfevents.1.outside"), scalarEvent({ tag: "loss", step: 1, value: 1, wall_time: 1 }));
    fs.symlinkSync(outside, path.join(runDir, "escape"));
    const shared = path.join(dataDir, "shared-logs");
    fs.mkdirSync(shared);
    fs.writeFileSync(path.join(shared, "log.jsonl"), '{"step": 3, "lr": 0.1}\n');
    fs.symlinkSync(shared, path.join(runDir, "inside"));
    const deep = path.join(runDir, "a", "b", "c", "d");
    fs.mkdirSync(path.join(deep, "e"), { recursive: true });
    fs.writeFileSync(path.join(deep, "ok.jsonl"), '{"step": 4, "lr": 0.2}\n');
    fs.writeFileSync(path.join(deep, "e", "too-deep.jsonl"), '{"step": 5, "lr": 0.3}\n');

    const run = await readModelRun({ dataDir, key: "linked" });
    expect(run.files.map((f) => f.path)).toEqual(["runs/linked/a/b/c/d/ok.jsonl", "runs/linked/inside/log.jsonl"]);
    expect(run.series.learning_rate.map((p) => p.value)).toEqual([0.1, 0.2]);
    expect(run.warnings).toEqual(["runs/linked/escape: symlink leads outside the data dir or nowhere; not followed"]);
  });
});
