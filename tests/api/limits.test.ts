import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { GET as getLoss } from "@/app/api/metrics/training-loss/route";
import { GET as getRuns } from "@/app/api/models/[key]/runs/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { tailJsonlLog } from "@/lib/runs/jsonl-log";
import { scalarEvent } from "../runs/helpers";
import { call, makeDataDir, modelConfig, writeFile } from "../helpers";

afterEach(() => {
  vi.unstubAllEnvs();
});

const models = async () => (await call(getModels)).json();
const runs = async (key: string) => (await call(getRuns, { params: { key } })).json();

describe("limits on what one data file may cost", () => {
  it("skips a run log's line over AFS_MAX_LINE_BYTES without keeping it, and passes over its rest once", async () => {
    vi.stubEnv("AFS_MAX_LINE_BYTES", "1000");
    const dir = makeDataDir();
    const file = writeFile(dir, "runs/a/log.jsonl", `{"step": 1, "loss": 2}\n{"text": "${"x".repeat(3000)}`);
    const first = await tailJsonlLog({ path: file, root: dir });
    expect(first).toMatchObject({ skipped: 1, offset: fs.statSync(file).size });
    // The rest of the long line arrives: passed over up to its newline, then reading goes on.
    fs.appendFileSync(file, `${"y".repeat(2000)}"}\n{"step": 2, "loss": 1}\n`);
    const second = await tailJsonlLog({ path: file, root: dir });
    expect(second.skipped).toBe(1);
    expect(second.points.map((p) => [p.step, p.value])).toEqual([
      [1, 2],
      [2, 1],
    ]);
    expect((await tailJsonlLog({ path: file, root: dir })).last_read.bytes_read).toBe(0);
  });

  it("refuses a JSON document over AFS_MAX_JSON_BYTES, and reads it once it is small enough", async () => {
    vi.stubEnv("AFS_MAX_JSON_BYTES", "2000");
    const rows = Array.from({ length: 100 }, (_, i) => ({ step: i + 1, loss: 1 / (i + 1) }));
    const text = JSON.stringify({ global_step: 100, max_steps: 200, log_history: rows });
    const dir = makeDataDir({ models: [{ key: "a" }], files: { "runs/a/trainer_state.json": text } });
    const refused = await models();
    expect(refused.warnings).toEqual([`a: runs/a/trainer_state.json: could not read: ${text.length} bytes is over AFS_MAX_JSON_BYTES (2000 bytes); not read`]);
    expect(refused.models[0].progress).toBe(0);
    writeFile(dir, "runs/a/trainer_state.json", JSON.stringify({ global_step: 100, max_steps: 200, log_history: rows.slice(0, 10) }));
    const read = await models();
    expect(read.warnings).toEqual([]);
    expect(read.models[0].progress).toBe(50);
  });

  it("lists at most AFS_MAX_RUN_FILES run files, and says so", async () => {
    vi.stubEnv("AFS_MAX_RUN_FILES", "3");
    const files: Record<string, Buffer> = {};
    for (let i = 1; i <= 5; i++) files[`runs/a/events.out.tfevents.${i}.host`] = scalarEvent({ tag: "loss", step: i, value: 1 / i, wall_time: 1_790_000_000 + i });
    makeDataDir({ models: [{ key: "a" }], files });
    const body = await runs("a");
    expect(body.files.map((f: { path: string }) => f.path)).toEqual([1, 2, 3].map((i) => `runs/a/events.out.tfevents.${i}.host`));
    expect(body.warnings).toEqual(["runs/a: more than 3 run files; only the first are read (AFS_MAX_RUN_FILES)"]);
  });

  it("reads each real folder and file of a run once, whatever links loop back to it", async () => {
    const dir = makeDataDir({
      models: [{ key: "a" }],
      files: { "runs/a/events.out.tfevents.1.host": scalarEvent({ tag: "loss", step: 1, value: 0.5, wall_time: 1_790_000_000 }) },
    });
    for (let i = 0; i < 10; i++) fs.symlinkSync(".", path.join(dir, "runs", "a", `loop${i}`));
    fs.symlinkSync("events.out.tfevents.1.host", path.join(dir, "runs", "a", "events.out.tfevents.2.host"));
    const body = await runs("a");
    expect(body.files.map((f: { path: string }) => f.path)).toEqual(["runs/a/events.out.tfevents.1.host"]);
    expect(body.warnings).toHaveLength(11);
    expect(body.warnings[0]).toBe("runs/a/events.out.tfevents.2.host: leads to what was already read here (a link loop or a second link); not read again");
    expect(body.warnings[1]).toBe("runs/a/loop0: leads to what was already read here (a link loop or a second link); not read again");
  });

  it("shows the first AFS_MAX_MODELS models, and says how many there were", async () => {
    vi.stubEnv("AFS_MAX_MODELS", "2");
    makeDataDir({ models: [{ key: "a" }, { key: "b" }, { key: "c" }] });
    const body = await models();
    expect(body.models.map((m: { key: string }) => m.key)).toEqual(["a", "b"]);
    expect(body.warnings).toEqual(["afs.config.json: models: 3 models; only the first 2 are shown (AFS_MAX_MODELS)"]);
  });
});

describe("duplicated keys and long names in the config", () => {
  it("treats a key given twice as invalid for its object, so the default applies", async () => {
    const model = JSON.stringify(modelConfig({ key: "a", gpu_hours: 2 })).replace('"gpu_hours":2', '"gpu_hours":2,"gpu_hours":5000');
    makeDataDir({ config: `{"session": {"name": "S", "budget_usd": 10}, "models": [${model}]}` });
    const body = await models();
    expect(body.warnings).toEqual(["afs.config.json: models[0].gpu_hours: duplicate key (using the default)"]);
    expect(body.models[0]).toMatchObject({ key: "a", gpu_hours: 0, config_errors: ["gpu_hours: duplicate key"] });
  });

  it("reads no models from a \"models\" key given twice: which list was meant is unknowable", async () => {
    const list = JSON.stringify([modelConfig({ key: "a" })]);
    makeDataDir({ config: `{"models": ${list}, "session": {"name": "S"}, "models": []}` });
    const body = await models();
    expect(body.models).toEqual([]);
    expect(body.warnings).toEqual(["afs.config.json: models: duplicate key (ignored)"]);
  });

  it("leaves out a model whose name is over 200 characters, and never quotes a long field name in full", async () => {
    const long = "n".repeat(201);
    makeDataDir({
      config: JSON.stringify({
        session: { name: "S" },
        models: [modelConfig({ key: "a", name: long }), { ...modelConfig({ key: "b" }), ["f".repeat(5000)]: 1 }],
      }),
    });
    const body = await models();
    expect(body.models.map((m: { key: string }) => m.key)).toEqual(["b"]);
    expect(body.warnings).toEqual([
      "afs.config.json: models[0].name: Too big: expected string to have <=200 characters (model not shown)",
      `afs.config.json: models[1].${"f".repeat(64)}…: unknown field (using the default)`,
    ]);
  });
});

describe("a diverged run", () => {
  it("keeps NaN and Infinity losses as markers: out of the curve, the first step named", async () => {
    makeDataDir({
      models: [{ key: "a" }],
      files: {
        "runs/a/log.jsonl": '{"step": 1, "loss": 2.0}\n{"step": 2, "loss": NaN}\n{"step": 3, "loss": Infinity}\n{"step": 4, "loss": 1.0}\n',
      },
    });
    const loss = await (await call(getLoss, { url: "/api/metrics/training-loss" })).json();
    expect(loss.metrics.map((m: { step: number; train_loss: number }) => [m.step, m.train_loss])).toEqual([
      [1, 2],
      [4, 1],
    ]);
    expect(loss.non_finite).toEqual([{ model: "a", series: "train_loss", first_step: 2, count: 2 }]);
    expect((await models()).warnings).toEqual(["a: train_loss: 2 value(s) NaN or infinite (the run diverged?), first at step 2"]);
  });
});
