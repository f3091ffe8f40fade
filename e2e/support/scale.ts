import fs from "node:fs";
import os from "node:os";
import path from "node:path";

const STATUSES = ["running", "completed", "pending", "paused", "failed"] as const;
// The session's start, in epoch seconds.
const START = Date.parse("2026-11-01T00:00:00Z") / 1000;

export const scaleKey = (i: number) => `model-${String(i).padStart(4, "0")}`;
export const scaleName = (i: number) => `Model ${String(i).padStart(4, "0")}`;

// A data dir with `models` models (keys model-0000…, names "Model 0000"…), each with a JSONL run
// log of `points` steps of loss and throughput: the page at the scale of a large session.
export function writeScaleData({ models, points }: { models: number; points: number }): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-scale-"));
  const config = {
    session: { name: "Scale session", started_at: new Date(START * 1000).toISOString(), budget_usd: 5000, currency: "USD" },
    models: Array.from({ length: models }, (_, i) => ({
      key: scaleKey(i),
      name: scaleName(i),
      status: STATUSES[i % STATUSES.length],
      progress: (i * 7) % 101,
      gpu_hours: 1 + (i % 13),
      cost_per_hour: 1.5,
      gpu_type: "H100 80GB HBM3",
    })),
  };
  fs.writeFileSync(path.join(dir, "afs.config.json"), JSON.stringify(config, null, 2));
  for (let i = 0; i < models; i++) {
    const runDir = path.join(dir, "runs", scaleKey(i));
    fs.mkdirSync(runDir, { recursive: true });
    const lines: string[] = [];
    for (let step = 1; step <= points; step++) {
      // Written days ago: the runs are not fresh, so each model keeps its configured status.
      const wall_time = START + step * 10;
      lines.push(JSON.stringify({ step, wall_time, loss: 3 / Math.sqrt(step) + (i % 10) / 100, samples_per_sec: 100 + (step % 17) }));
    }
    fs.writeFileSync(path.join(runDir, "train_log.jsonl"), lines.join("\n") + "\n");
  }
  return dir;
}
