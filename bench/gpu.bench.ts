import fs from "node:fs";
import path from "node:path";
import { test } from "vitest";
import { parseGpuCsv } from "@/lib/gpu/parse";
import { toSampleRow } from "@/lib/gpu/sample-writer";
import { getDb } from "@/lib/store/db";
import { insertGpuSamples, queryGpuHistory, type GpuSampleRow } from "@/lib/store/gpu-samples";
import { makeDataDir } from "../tests/helpers";
import { line, machine, percentile, timeMs } from "./report";

const GPUS = 8;
const DAYS = 7;
const SECONDS = DAYS * 86_400;

test("GPU history: 7 days × 1 Hz × 8 GPUs", async () => {
  makeDataDir();
  // Values cycle through the real H100 capture (idle, load, idle), so the store holds real shapes.
  const capture = fs.readFileSync(path.join(__dirname, "..", "tests", "fixtures", "nvidia-smi", "stream_500ms.csv"), "utf8");
  const real = parseGpuCsv({ text: capture }).readings.map((r) => r.reading);
  const now = Date.now();
  const start = now - SECONDS * 1000;
  const row = (second: number, gpu: number): GpuSampleRow => ({
    ...toSampleRow({ at: start + second * 1000, reading: real[(second + gpu * 17) % real.length] }),
    gpu_index: gpu,
  });

  // Bulk load, an hour of samples per transaction.
  const bulkMs = await timeMs(() => {
    for (let hour = 0; hour < SECONDS / 3600; hour++) {
      const samples: GpuSampleRow[] = [];
      for (let s = hour * 3600; s < (hour + 1) * 3600; s++) for (let gpu = 0; gpu < GPUS; gpu++) samples.push(row(s, gpu));
      insertGpuSamples({ samples });
    }
  });
  const total = SECONDS * GPUS;

  // What the poller does: one transaction a second holding one sample per GPU.
  const liveBatches = 500;
  const liveMs = await timeMs(() => {
    for (let i = 0; i < liveBatches; i++) {
      insertGpuSamples({ samples: Array.from({ length: GPUS }, (_, gpu) => ({ ...row(i, gpu), at: now + 1000 + i })) });
    }
  });

  const latencies = async (rangeMs: number) => {
    const samples: number[] = [];
    for (let i = 0; i < 30; i++) samples.push(await timeMs(() => queryGpuHistory({ rangeMs, points: 500, now })));
    return samples;
  };
  const week = await latencies(DAYS * 86_400_000);
  const hour = await latencies(3_600_000);
  const points = queryGpuHistory({ rangeMs: DAYS * 86_400_000, points: 500, now }).length;
  const dbBytes = fs.statSync(process.env.AFS_DB!).size + (fs.existsSync(`${process.env.AFS_DB}-wal`) ? fs.statSync(`${process.env.AFS_DB}-wal`).size : 0);

  console.log(`\nGPU history (${machine()})`);
  line("samples loaded", `${total.toLocaleString("en")} (${DAYS} d × 1 Hz × ${GPUS} GPUs), store ${(dbBytes / 2 ** 20).toFixed(0)} MB`);
  line("bulk ingest (1 h per transaction)", `${Math.round(total / (bulkMs / 1000)).toLocaleString("en")} samples/s (${(bulkMs / 1000).toFixed(1)} s)`);
  line("live ingest (1 transaction a second, 8 rows)", `${(liveMs / liveBatches).toFixed(2)} ms per batch (synchronous=FULL)`);
  line("7-day query, 500 points per GPU", `p50 ${percentile(week, 50).toFixed(1)} ms, p99 ${percentile(week, 99).toFixed(1)} ms (${points} points)`);
  line("1-hour query, 500 points per GPU", `p50 ${percentile(hour, 50).toFixed(1)} ms, p99 ${percentile(hour, 99).toFixed(1)} ms`);
  getDb().close();
});
