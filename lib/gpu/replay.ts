import "server-only";
import fs from "node:fs";
import { parseGpuCsv } from "./parse";
import type { GpuReading } from "./types";

export type GpuTick = { timestamp: number; readings: GpuReading[] };

// Plays a recorded `nvidia-smi --query-gpu=... --format=csv` capture at its recorded pace, with
// timestamps moved to now, looping. Throws if the file is unreadable or holds no timed samples.
export function startGpuReplay({ path, onTick }: { path: string; onTick: (tick: GpuTick) => void }): { stop: () => void } {
  const { readings } = parseGpuCsv({ text: fs.readFileSync(path, "utf8") });
  // One tick holds one line per GPU; a GPU index seen again starts the next tick.
  const ticks: Array<{ at: number; readings: GpuReading[] }> = [];
  for (const { timestamp, reading } of readings) {
    if (timestamp === null) continue;
    const last = ticks.at(-1);
    if (last && !last.readings.some((r) => r.index === reading.index)) last.readings.push(reading);
    else ticks.push({ at: timestamp, readings: [reading] });
  }
  if (ticks.length === 0) throw new Error(`${path} holds no samples with a timestamp`);
  const first = ticks[0].at;
  const span = ticks.at(-1)!.at - first;
  // The loop restarts one mean sample interval after the last sample.
  const period = ticks.length > 1 ? span + span / (ticks.length - 1) : 1000;

  let loopStart = Date.now();
  let i = 0;
  let timer: NodeJS.Timeout;
  const play = () => {
    const tick = ticks[i];
    onTick({ timestamp: Math.round(loopStart + tick.at - first), readings: tick.readings });
    if (++i === ticks.length) {
      i = 0;
      loopStart += period;
    }
    // Scheduled against the loop's start, not the previous tick, so timer lag does not accumulate.
    timer = setTimeout(play, Math.max(0, loopStart + ticks[i].at - first - Date.now()));
  };
  timer = setTimeout(play, 0);
  return { stop: () => clearTimeout(timer) };
}
