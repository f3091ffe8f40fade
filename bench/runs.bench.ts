import fs from "node:fs";
import path from "node:path";
import { monitorEventLoopDelay } from "node:perf_hooks";
import { test } from "vitest";
import { getTrainingLoss } from "@/lib/metrics";
import { readEventFile } from "@/lib/runs/event-file";
import { getState } from "@/lib/state/live-state";
import { scalarEvent } from "../tests/runs/helpers";
import { makeDataDir } from "../tests/helpers";
import { line, machine, timeMs } from "./report";

const STEPS = 1_000_000;

test("event-file reader on a 1,000,000-step file", async () => {
  const dir = makeDataDir({ models: [{ key: "big", name: "Big" }] });
  const file = path.join(dir, "runs", "big", "events.out.tfevents.bench");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const out = fs.openSync(file, "w");
  const t0 = Date.now() / 1000;
  let batch: Buffer[] = [];
  for (let step = 1; step <= STEPS; step++) {
    batch.push(scalarEvent({ tag: "train/loss", step, value: 2 + Math.sin(step / 5000) / (1 + step / 1e5), wall_time: t0 + step * 0.01 }));
    if (batch.length === 10_000) {
      fs.writeSync(out, Buffer.concat(batch));
      batch = [];
    }
  }
  fs.writeSync(out, Buffer.concat(batch));
  fs.closeSync(out);
  const size = fs.statSync(file).size;
  const mb = size / 2 ** 20;

  const plainMs = await timeMs(async () => {
    for await (const _chunk of fs.createReadStream(file, { highWaterMark: 1 << 20 }));
  });
  let records = 0;
  const readerMs = await timeMs(async () => {
    records = (await readEventFile({ path: file, root: path.dirname(file), fromOffset: 0, toOffset: size })).points.length;
  });
  const lossQuery = async () => getTrainingLoss(await getState(), { model: "big", points: 1000 });
  // How long the event loop was held at once while the file was read and merged: what a
  // request arriving meanwhile (health) waits at worst.
  const stalls = monitorEventLoopDelay({ resolution: 5 });
  stalls.enable();
  const coldQueryMs = await timeMs(lossQuery);
  stalls.disable();
  const warm: number[] = [];
  for (let i = 0; i < 5; i++) warm.push(await timeMs(lossQuery));

  console.log(`\nEvent files (${machine()})`);
  line("file", `${STEPS.toLocaleString("en")} steps, ${mb.toFixed(1)} MB`);
  line("plain read of the bytes", `${(mb / (plainMs / 1000)).toFixed(0)} MB/s (${plainMs.toFixed(0)} ms)`);
  line("event-file reader (framing, CRC32C, protobuf)", `${(mb / (readerMs / 1000)).toFixed(1)} MB/s, ${Math.round(records / (readerMs / 1000)).toLocaleString("en")} records/s (${readerMs.toFixed(0)} ms)`);
  line("reader / plain read", `${(readerMs / plainMs).toFixed(1)}x the time`);
  line("1000-point loss query, first (reads the file)", `${coldQueryMs.toFixed(0)} ms`);
  line("longest event-loop stall during that first query", `${(stalls.max / 1e6).toFixed(0)} ms`);
  line("process RSS after it", `${(process.memoryUsage().rss / 2 ** 20).toFixed(0)} MiB`);
  line("1000-point loss query, unchanged file", `${warm.reduce((a, b) => Math.min(a, b)).toFixed(1)} ms (best of 5)`);
  if (records !== STEPS) throw new Error(`read ${records} records, wrote ${STEPS}`);
});
