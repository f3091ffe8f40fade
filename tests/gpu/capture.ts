import fs from "node:fs";
import path from "node:path";
import { parseGpuCsv } from "@/lib/gpu/parse";
import { toSampleRow } from "@/lib/gpu/sample-writer";
import { LOCAL_HOST } from "@/lib/schemas/config";
import type { GpuSampleRow } from "@/lib/store/gpu-samples";

// GPU history made of the real 108 s H100 capture, for the store's tests.
const stream = parseGpuCsv({ text: fs.readFileSync(path.join(__dirname, "../fixtures/nvidia-smi/stream_500ms.csv"), "utf8") }).readings;
const lastAt = stream.at(-1)!.timestamp!;
export const NOW = Date.UTC(2026, 10, 26, 12, 0, 0);
export const HOUR = 3_600_000;
export const DAY = 24 * HOUR;

// The capture laid down so its last sample lands at `endAt`.
export function captureRows({ gpu, endAt }: { gpu: number; endAt: number }): GpuSampleRow[] {
  return stream.map(({ timestamp, reading }) => ({ ...toSampleRow({ host: LOCAL_HOST, at: endAt - (lastAt - timestamp!), reading }), gpu_index: gpu }));
}

// The capture every 67 min 7 s for a week on GPU 0, and 20 min later on GPU 1, so captures fall
// differently on minute, period and bucket boundaries.
export const weekEnds = Array.from({ length: Math.floor((7 * DAY) / 4_027_000) }, (_, i) => NOW - 1000 - i * 4_027_000);
export const weekRows = () => weekEnds.flatMap((endAt) => [...captureRows({ gpu: 0, endAt }), ...captureRows({ gpu: 1, endAt: endAt - 20 * 60_000 })]);

export type Minute = { minute: number; gpu_index: number } & Record<string, number>;

// A point as a minute's maxima (the high pick) or its means (the low pick) would show it.
export const asPoint = (m: Minute, stat: "max" | "mean") => ({
  timestamp: new Date(m.minute).toISOString(),
  gpu_index: m.gpu_index,
  utilization: m[`utilization_${stat}`],
  temperature_c: m[`temperature_${stat}_c`],
  power_w: m[`power_${stat}_w`],
});
