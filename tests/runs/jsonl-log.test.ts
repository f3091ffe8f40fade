import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { tailJsonlLog } from "@/lib/runs/jsonl-log";
import { readModelRun } from "@/lib/runs/model-run";
import { makeDataDir } from "./helpers";

describe("JSONL logs", () => {
  it("waits for a half-written last line and skips and counts a bad one", async () => {
    const { dataDir, runDir } = makeDataDir({ key: "jsonl", copyFixture: false });
    const file = path.join(runDir, "train_log.jsonl");
    const complete = '{"step": 1, "loss": 2.5, "time": 1795686938.5}\n';
    fs.writeFileSync(file, complete + '{"step": 2, "lo');

    const first = await tailJsonlLog({ path: file, root: path.dirname(file) });
    expect(first.points).toEqual([{ tag: "loss", step: 1, value: 2.5, wall_time: 1795686938500 }]);
    expect(first).toMatchObject({ offset: Buffer.byteLength(complete), skipped: 0 });

    fs.appendFileSync(file, 'ss": 2.0, "name": "ünïcode"}\nnot json\n[1, 2]\n{"loss": 1}\n\n{"step": 3, "loss": 1.5, "lr": 0.001}\n');
    const second = await tailJsonlLog({ path: file, root: path.dirname(file) });
    expect(second.last_read.from_offset).toBe(Buffer.byteLength(complete));
    expect(second.points.map((p) => [p.tag, p.step, p.value])).toEqual([
      ["loss", 1, 2.5],
      ["loss", 2, 2],
      ["loss", 3, 1.5],
      ["lr", 3, 0.001],
    ]);
    expect(second).toMatchObject({ offset: fs.statSync(file).size, skipped: 3 });

    const run = await readModelRun({ dataDir, key: "jsonl" });
    expect(run.warnings).toEqual(["runs/jsonl/train_log.jsonl: skipped 3 bad line(s)"]);
    expect(run.series.train_loss.map((p) => p.value)).toEqual([2.5, 2, 1.5]);
    expect(run.series.learning_rate).toMatchObject([{ step: 3, value: 0.001, wall_time: null }]);
    expect(run.files[0]).toMatchObject({ kind: "jsonl", first_step: 1, last_step: 3, first_time: 1795686938500, last_time: 1795686938500 });
  });
});
