import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { readEventFile, tailEventFile } from "@/lib/runs/event-file";
import { readModelRun } from "@/lib/runs/model-run";
import type { TaggedPoint } from "@/lib/runs/tail";
import {
  EVENT_FILE,
  FINAL_EVAL_EVENT_FILE,
  FIXTURE_RUN,
  encodeEvent,
  frameRecord,
  lengthHeader,
  makeDataDir,
  makeTempDir,
  readTrainerStateFixture,
  recordEnds,
  scalarEvent,
  type ValueSpec,
} from "./helpers";

async function readWhole(file: string) {
  return readEventFile({ path: file, root: path.dirname(file), fromOffset: 0, toOffset: fs.statSync(file).size });
}

function stepsOf(points: TaggedPoint[], tag: string): Map<number, number> {
  return new Map(points.filter((p) => p.tag === tag).map((p) => [p.step, p.value]));
}

describe("event files of the captured majora-v1 run", () => {
  it("hold the same loss and eval_loss as trainer_state.json, to float32 rounding", async () => {
    const main = await readWhole(path.join(FIXTURE_RUN, EVENT_FILE));
    const finalEval = await readWhole(path.join(FIXTURE_RUN, FINAL_EVAL_EVENT_FILE));
    expect(main).toMatchObject({ skipped: 0, halted: null, next_offset: 23722, bytes_read: 23722 });
    expect(finalEval).toMatchObject({ skipped: 0, halted: null, next_offset: 359 });

    const trainLoss = stepsOf(main.points, "train/loss");
    const evalLoss = stepsOf(main.points, "eval/loss");
    const rows = readTrainerStateFixture().log_history;
    const lossRows = rows.filter((r) => r.loss !== undefined);
    const evalRows = rows.filter((r) => r.eval_loss !== undefined);
    expect(lossRows).toHaveLength(80);
    expect(evalRows).toHaveLength(8);
    expect(trainLoss.size).toBe(80);
    expect(evalLoss.size).toBe(8);
    for (const row of lossRows) expect(trainLoss.get(row.step)).toBe(Math.fround(row.loss));
    for (const row of evalRows) expect(evalLoss.get(row.step)).toBe(Math.fround(row.eval_loss));
    // The second file is the evaluation after training, at the last step.
    expect(stepsOf(finalEval.points, "eval/loss")).toEqual(new Map([[400, Math.fround(0.024641502648591995)]]));
    expect(main.points[0]).toEqual({ tag: "train/loss", step: 5, value: Math.fround(7.040331268310547), wall_time: expect.any(Number) });
  });

  it("lists every scalar tag the run wrote (the text summaries are not scalars)", async () => {
    const { dataDir } = makeDataDir({ key: "majora-v1", copyFixture: true });
    const run = await readModelRun({ dataDir, key: "majora-v1" });
    const events = run.files.filter((f) => f.kind === "events");
    expect(events.map((f) => f.path)).toEqual([`runs/majora-v1/${EVENT_FILE}`, `runs/majora-v1/${FINAL_EVAL_EVENT_FILE}`]);
    expect(events[0]).toMatchObject({
      size_bytes: 23722,
      first_step: 5,
      last_step: 400,
      tags: [
        "eval/loss",
        "eval/runtime",
        "eval/samples_per_second",
        "eval/steps_per_second",
        "train/epoch",
        "train/grad_norm",
        "train/learning_rate",
        "train/loss",
        "train/total_flos",
        "train/train_loss",
        "train/train_runtime",
        "train/train_samples_per_second",
        "train/train_steps_per_second",
      ],
    });
    expect(events[1].tags).toEqual(["eval/loss", "eval/runtime", "eval/samples_per_second", "eval/steps_per_second", "train/epoch"]);
    expect(events[0].first_time).toBeGreaterThan(Date.UTC(2026, 10, 26));
    expect(events[0].last_time).toBeGreaterThan(events[0].first_time ?? Infinity);
    expect(run.warnings).toEqual([]);
  });
});

describe("scalar encodings", () => {
  it("reads simple_value, float_val, double_val, half_val and tensor_content exactly", async () => {
    const dir = makeTempDir();
    const file = path.join(dir, "events.out.tfevents.1.test");
    const scalarMeta = { plugin_data: { plugin_name: "scalars" } };
    const float32 = Buffer.alloc(4);
    float32.writeFloatLE(0.3);
    const float64 = Buffer.alloc(8);
    float64.writeDoubleLE(0.1);
    const half = Buffer.alloc(2);
    half.writeUInt16LE(0x3e00); // 1.5 in IEEE half precision
    const text = { plugin_data: { plugin_name: "text" } };
    const values: [number, ValueSpec][] = [
      [1, { tag: "simple", simple_value: 0.1 }],
      [2, { tag: "zero", simple_value: 0 }],
      [3, { tag: "float_val", metadata: scalarMeta, tensor: { dtype: 1, float_val: [0.2] } }],
      [4, { tag: "double_val", metadata: scalarMeta, tensor: { dtype: 2, double_val: [0.2] } }],
      [5, { tag: "half_val", tensor: { dtype: 19, half_val: [0xbc00] } }], // -1
      [6, { tag: "content_f32", tensor: { dtype: 1, tensor_content: float32 } }],
      [2 ** 40, { tag: "content_f64", tensor: { dtype: 2, tensor_content: float64 } }],
      [8, { tag: "content_f16", tensor: { dtype: 19, tensor_content: half } }],
      // Not scalars: text, a 3-element float tensor, hparams-style metadata without a value.
      [9, { tag: "args", metadata: text, tensor: { dtype: 7, string_val: [Buffer.from("hi")] } }],
      [10, { tag: "vector", tensor: { dtype: 1, tensor_shape: { dim: [{ size: 3 }] }, float_val: [1, 2, 3] } }],
      [11, { tag: "_hparams_/session_start_info", metadata: { plugin_data: { plugin_name: "hparams" } } }],
    ];
    const records = values.map(([step, value], i) => frameRecord(encodeEvent({ wall_time: 1795686940 + i / 4, step, values: [value] })));
    fs.writeFileSync(file, Buffer.concat([frameRecord(encodeEvent({ wall_time: 1795686938.25, step: 0, values: [] })), ...records]));

    const read = await readWhole(file);
    expect(read.skipped).toBe(0);
    expect(read.points).toEqual([
      { tag: "simple", step: 1, value: Math.fround(0.1), wall_time: 1795686940000 },
      { tag: "zero", step: 2, value: 0, wall_time: 1795686940250 },
      { tag: "float_val", step: 3, value: Math.fround(0.2), wall_time: 1795686940500 },
      { tag: "double_val", step: 4, value: 0.2, wall_time: 1795686940750 },
      { tag: "half_val", step: 5, value: -1, wall_time: 1795686941000 },
      { tag: "content_f32", step: 6, value: Math.fround(0.3), wall_time: 1795686941250 },
      { tag: "content_f64", step: 2 ** 40, value: 0.1, wall_time: 1795686941500 },
      { tag: "content_f16", step: 8, value: 1.5, wall_time: 1795686941750 },
    ]);
  });
});

describe("damaged and growing event files", () => {
  const original = fs.readFileSync(path.join(FIXTURE_RUN, EVENT_FILE));
  const ends = recordEnds(original);

  it("reads every truncation of the last 200 bytes as whole records, then the rest once appended", async () => {
    expect(ends.at(-1)).toBe(original.length);
    const full = await readWhole(path.join(FIXTURE_RUN, EVENT_FILE));
    const dir = makeTempDir();
    for (let cut = original.length - 200; cut < original.length; cut++) {
      const file = path.join(dir, `events.out.tfevents.cut-${cut}`);
      fs.writeFileSync(file, original.subarray(0, cut));
      const whole = Math.max(...ends.filter((end) => end <= cut));
      const expected = await readEventFile({ path: file, root: path.dirname(file), fromOffset: 0, toOffset: whole });

      const first = await tailEventFile({ path: file, root: path.dirname(file) });
      expect(first).toMatchObject({ offset: whole, skipped: 0, halted: null });
      expect(first.points).toEqual(expected.points);

      fs.appendFileSync(file, original.subarray(cut));
      const second = await tailEventFile({ path: file, root: path.dirname(file) });
      expect(second.last_read).toEqual({ from_offset: whole, bytes_read: original.length - whole });
      expect(second).toMatchObject({ offset: original.length, skipped: 0, halted: null });
      expect(second.points).toEqual(full.points);
    }
  });

  it("skips a record whose data was damaged, with a warning naming the file", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "damaged", copyFixture: true });
    const file = path.join(runDir, EVENT_FILE);
    const damaged = Buffer.from(original);
    // Flip a byte inside the data of the record that starts at ends[9].
    damaged[ends[9] + 12 + 5] ^= 0xff;
    fs.writeFileSync(file, damaged);

    const full = await readWhole(path.join(FIXTURE_RUN, EVENT_FILE));
    const lost = await readEventFile({ path: path.join(FIXTURE_RUN, EVENT_FILE), root: path.dirname(path.join(FIXTURE_RUN, EVENT_FILE)), fromOffset: ends[9], toOffset: ends[10] });
    expect(lost.points).toHaveLength(1);
    const read = await readWhole(file);
    expect(read).toMatchObject({ skipped: 1, halted: null, next_offset: original.length });
    expect(read.points).toHaveLength(full.points.length - 1);
    expect(read.points).toEqual(full.points.filter((p) => JSON.stringify(p) !== JSON.stringify(lost.points[0])));

    const run = await readModelRun({ dataDir, key: "damaged" });
    expect(run.warnings).toEqual([`runs/damaged/${EVENT_FILE}: skipped 1 corrupt record(s)`]);
  });

  it("stops at a record with a bad length CRC, and refuses an absurd length before reading it", async () => {
    const dir = makeTempDir();
    const badCrc = path.join(dir, "events.out.tfevents.badcrc");
    const damaged = Buffer.from(original);
    damaged[ends[9] + 9] ^= 0x01;
    fs.writeFileSync(badCrc, damaged);
    const read = await readWhole(badCrc);
    expect(read.halted).toBe(`bad length CRC at byte ${ends[9]}`);
    expect(read.next_offset).toBe(ends[9]);
    const before = await readEventFile({ path: path.join(FIXTURE_RUN, EVENT_FILE), root: path.dirname(path.join(FIXTURE_RUN, EVENT_FILE)), fromOffset: 0, toOffset: ends[9] });
    expect(read.points).toEqual(before.points);

    const huge = path.join(dir, "events.out.tfevents.huge");
    const record = scalarEvent({ tag: "loss", step: 1, value: 1, wall_time: 1_700_000_000 });
    // A valid length CRC over the absurd length, so only the limit can stop it.
    fs.writeFileSync(huge, Buffer.concat([record, lengthHeader(2n ** 40n), Buffer.alloc(64)]));
    const hugeRead = await readWhole(huge);
    expect(hugeRead.halted).toBe(`record at byte ${record.length} claims ${2 ** 40} bytes (limit ${64 << 20})`);
    expect(hugeRead.points).toEqual([{ tag: "loss", step: 1, value: 1, wall_time: 1_700_000_000_000 }]);
    expect(hugeRead.next_offset).toBe(record.length);

    // A halted file is not read again until it is replaced.
    const again = await tailEventFile({ path: huge, root: path.dirname(huge) });
    expect(again.halted).toMatch(/claims/);
    fs.appendFileSync(huge, Buffer.alloc(10));
    expect((await tailEventFile({ path: huge, root: path.dirname(huge) })).last_read.bytes_read).toBe(0);
  });

  it("reads only what was appended since the last read, and starts over when the file is replaced", async () => {
    const dir = makeTempDir();
    const file = path.join(dir, "events.out.tfevents.grow");
    const point = (step: number) => scalarEvent({ tag: "train/loss", step, value: 1 / step, wall_time: 1000 + step });
    fs.writeFileSync(file, Buffer.concat([point(1), point(2), point(3)]));
    const firstSize = fs.statSync(file).size;

    const first = await tailEventFile({ path: file, root: path.dirname(file) });
    expect(first.last_read).toEqual({ from_offset: 0, bytes_read: firstSize });
    expect(first.points.map((p) => p.step)).toEqual([1, 2, 3]);

    fs.appendFileSync(file, Buffer.concat([point(4), point(5)]));
    const secondSize = fs.statSync(file).size;
    const second = await tailEventFile({ path: file, root: path.dirname(file) });
    expect(second.last_read).toEqual({ from_offset: firstSize, bytes_read: secondSize - firstSize });
    expect(second.points.map((p) => [p.step, p.value])).toEqual([1, 2, 3, 4, 5].map((s) => [s, Math.fround(1 / s)]));

    const unchanged = await tailEventFile({ path: file, root: path.dirname(file) });
    expect(unchanged.last_read).toEqual({ from_offset: secondSize, bytes_read: 0 });
    expect(unchanged.points).toHaveLength(5);

    // Concurrent reads of one file never append the same records twice.
    fs.appendFileSync(file, point(6));
    const [a, b] = await Promise.all([tailEventFile({ path: file, root: path.dirname(file) }), tailEventFile({ path: file, root: path.dirname(file) })]);
    expect(a.points.map((p) => p.step)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(b.points).toHaveLength(6);

    const replacement = path.join(dir, "replacement");
    fs.writeFileSync(replacement, Buffer.concat([point(7), point(8), point(9), point(10), point(11), point(12), point(13)]));
    fs.renameSync(replacement, file);
    const replaced = await tailEventFile({ path: file, root: path.dirname(file) });
    expect(replaced.last_read.from_offset).toBe(0);
    expect(replaced.points.map((p) => p.step)).toEqual([7, 8, 9, 10, 11, 12, 13]);
  });
});

describe("event files longer than one read", () => {
  it("reads records across chunk boundaries and one larger than a chunk", async () => {
    const steps = Array.from({ length: 40_000 }, (_, i) => i - 100);
    const events = steps.map((step) => encodeEvent({ wall_time: 1e9 + step, step, values: [{ tag: "loss", simple_value: step / 7 }] }));
    const text = { tag: "notes", metadata: { plugin_data: { plugin_name: "text" } }, tensor: { dtype: 7, string_val: [Buffer.alloc(3 << 20, 0x61)] } };
    events.splice(20_000, 0, encodeEvent({ wall_time: 1, step: 1, values: [text] }));
    const file = path.join(makeTempDir(), "events.out.tfevents.long");
    fs.writeFileSync(file, Buffer.concat(events.map((e) => frameRecord(e))));
    expect(fs.statSync(file).size).toBeGreaterThan(4 << 20);

    const read = await readEventFile({ path: file, root: path.dirname(file), fromOffset: 0, toOffset: fs.statSync(file).size });
    expect(read).toMatchObject({ skipped: 0, halted: null, next_offset: fs.statSync(file).size });
    expect(read.points).toEqual(steps.map((step) => ({ tag: "loss", step, value: Math.fround(step / 7), wall_time: (1e9 + step) * 1000 })));
  });
});
