import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GPU_QUERY_FIELDS, parseComputeApps, parseGpuCsv, parseGpuLine } from "@/lib/gpu/parse";

const fixture = (name: string) => fs.readFileSync(path.join(__dirname, "../fixtures/nvidia-smi", name), "utf8");
const local = (h: number, m: number, s: number, ms: number) => new Date(2026, 10, 26, h, m, s, ms).getTime();

// The field list the captures were recorded with ($Q in the capture README).
const CAPTURE_FIELDS =
  "timestamp,index,uuid,name,driver_version,pci.bus_id,pstate,temperature.gpu,utilization.gpu,utilization.memory,memory.total,memory.used,memory.free,power.draw,power.limit,clocks.sm,clocks.mem,clocks.max.sm,fan.speed".split(",");

const IDLE_H100 = {
  index: 0,
  uuid: "GPU-b11cb0f2-ff08-1111-37b7-7f98f227c0bb",
  name: "NVIDIA H100 80GB HBM3",
  bus_id: "00000000:00:06.0",
  pstate: "P0",
  utilization: 0,
  memory_utilization: 0,
  memory_used_mb: 0,
  memory_total_mb: 81559,
  temperature_c: 33,
  power_w: 69.15,
  power_limit_w: 700,
  sm_clock_mhz: 345,
  mem_clock_mhz: 2619,
  fan_percent: null,
  error: null,
};

describe("parseGpuCsv on real captures", () => {
  it("reads --format=csv with its renamed, unit-bearing header", () => {
    const { readings, failures } = parseGpuCsv({ text: fixture("query_idle.csv") });
    expect(failures).toEqual([]);
    expect(readings).toEqual([{ timestamp: local(9, 55, 18, 626), reading: IDLE_H100 }]);
  });

  it("reads csv,noheader,nounits given the query's field order", () => {
    const { readings } = parseGpuCsv({ text: fixture("query_idle_noheader_nounits.csv"), fields: CAPTURE_FIELDS });
    expect(readings).toEqual([{ timestamp: local(9, 55, 18, 664), reading: IDLE_H100 }]);
  });

  it("follows stream_500ms.csv through idle, two training jobs and idle again", () => {
    const { readings, failures } = parseGpuCsv({ text: fixture("stream_500ms.csv") });
    expect(failures).toEqual([]);
    expect(readings).toHaveLength(215);
    const util = readings.map((r) => r.reading.utilization);
    const mem = readings.map((r) => r.reading.memory_used_mb);

    expect(readings[0].timestamp).toBe(local(9, 55, 18, 754));
    expect(readings.at(-1)!.timestamp).toBe(local(9, 57, 6, 911));
    expect(readings.every((r) => r.reading.memory_total_mb === 81559 && r.reading.fan_percent === null)).toBe(true);

    // Idle until 09:55:40.5, where the first job allocates memory and shows 1 %, then real load at 09:55:42.012.
    expect(util.slice(0, 43).every((u) => u === 0)).toBe(true);
    expect(readings[43]).toMatchObject({ timestamp: local(9, 55, 40, 500), reading: { utilization: 1, memory_used_mb: 5719 } });
    expect(util.findIndex((u) => u! >= 20)).toBe(46);
    expect(readings[46].reading).toMatchObject({ utilization: 29, memory_used_mb: 6283, power_w: 183.54 });
    // The peak, first reached at 09:56:38.653 during the second job.
    expect(Math.max(...util.map(Number))).toBe(98);
    expect(util.indexOf(98)).toBe(158);
    expect(readings[158].timestamp).toBe(local(9, 56, 38, 653));
    expect(Math.max(...readings.map((r) => r.reading.power_w!))).toBe(589.37);
    // Two jobs: 6283 MiB, a gap with memory freed, then 5905 MiB.
    expect(new Set(mem)).toEqual(new Set([0, 689, 881, 1121, 5719, 5859, 5993, 6283, 1, 945, 2061, 5905]));
    // Load ends at 09:57:01.371 (33 %); the last 11 samples are idle with memory freed.
    const lastBusy = util.findLastIndex((u) => u! > 0);
    expect(lastBusy).toBe(203);
    expect(readings[203].reading).toMatchObject({ utilization: 33, memory_used_mb: 5905 });
    expect(readings.slice(204).every((r) => r.reading.utilization === 0)).toBe(true);
    expect(readings.at(-1)!.reading).toMatchObject({ memory_used_mb: 0, power_w: 71.15, temperature_c: 42 });
  });

  it("skips blank lines", () => {
    const text = fixture("stream_500ms.csv").replace(/\n/g, "\n\n  \r\n");
    expect(parseGpuCsv({ text }).readings).toHaveLength(215);
  });
});

describe("parseComputeApps", () => {
  it("reads apps_busy.csv, whose header renames used_memory", () => {
    expect(parseComputeApps({ text: fixture("apps_busy.csv") })).toEqual([
      { pid: 469, name: "python3", used_memory_mb: 6274, gpu_uuid: "GPU-b11cb0f2-ff08-1111-37b7-7f98f227c0bb" },
    ]);
  });

  it("reads noheader,nounits output and keeps a process name that contains a comma", () => {
    const text = "469, python3, 6274, GPU-b11cb0f2-ff08-1111-37b7-7f98f227c0bb\n12, /opt/a, b/train, [N/A], GPU-x\n";
    expect(parseComputeApps({ text })).toEqual([
      { pid: 469, name: "python3", used_memory_mb: 6274, gpu_uuid: "GPU-b11cb0f2-ff08-1111-37b7-7f98f227c0bb" },
      { pid: 12, name: "/opt/a, b/train", used_memory_mb: null, gpu_uuid: "GPU-x" },
    ]);
  });
});

describe("faults and several GPUs", () => {
  // Lines in the poller's own field order, built from the real idle line.
  const idle = (index: number, patch: Record<string, string> = {}) =>
    GPU_QUERY_FIELDS.map((f) => {
      if (f in patch) return patch[f];
      const cell = fixture("query_idle_noheader_nounits.csv").trim().split(", ")[CAPTURE_FIELDS.indexOf(f)];
      return f === "index" ? String(index) : f === "pci.bus_id" ? `00000000:0${index}:00.0` : cell;
    }).join(", ");

  it("keeps GPUs apart by index and marks a lost one in error", () => {
    const lost = Object.fromEntries(GPU_QUERY_FIELDS.filter((f) => !["timestamp", "index"].includes(f)).map((f) => [f, "[GPU is lost]"]));
    const { readings } = parseGpuCsv({ text: `${idle(0)}\n${idle(1, lost)}\n`, fields: GPU_QUERY_FIELDS });
    expect(readings.map((r) => r.reading.index)).toEqual([0, 1]);
    expect(readings[0].reading).toMatchObject({ error: null, utilization: 0, memory_total_mb: 81559, bus_id: "00000000:00:00.0" });
    expect(readings[1].reading).toMatchObject({ error: "GPU is lost", utilization: null, uuid: null, memory_total_mb: null });
  });

  it("marks a GPU with one [Unknown Error] field in error and keeps its other values", () => {
    const line = idle(3, { "power.draw": "[Unknown Error]" });
    const parsed = parseGpuLine({ line, fields: GPU_QUERY_FIELDS });
    expect(parsed).toMatchObject({ kind: "reading", reading: { index: 3, error: "Unknown Error", power_w: null, memory_total_mb: 81559 } });
  });

  it("treats [N/A] and [Not Supported] as absent, not as faults", () => {
    const parsed = parseGpuLine({ line: idle(0, { "power.limit": "[Not Supported]", "fan.speed": "[N/A]" }), fields: GPU_QUERY_FIELDS });
    expect(parsed).toMatchObject({ kind: "reading", reading: { error: null, power_limit_w: null, fan_percent: null } });
  });

  it("turns an NVML failure message into a failure naming the GPU's bus id", () => {
    const line = "Unable to determine the device handle for GPU0000:3B:00.0: Unknown Error";
    expect(parseGpuLine({ line, fields: GPU_QUERY_FIELDS })).toEqual({ kind: "failure", message: line, bus_id: "00000000:3B:00.0" });
    const driver = "NVIDIA-SMI has failed because it couldn't communicate with the NVIDIA driver.";
    expect(parseGpuLine({ line: driver, fields: GPU_QUERY_FIELDS })).toEqual({ kind: "failure", message: driver, bus_id: null });
  });

  it("reads values with units and a header in the middle of a stream", () => {
    const [header, row] = fixture("query_idle.csv").trim().split("\n");
    const { readings } = parseGpuCsv({ text: `${idle(0)}\n${header}\n${row}\n`, fields: GPU_QUERY_FIELDS });
    expect(readings.map((r) => r.reading)).toEqual([{ ...IDLE_H100, bus_id: "00000000:00:00.0" }, IDLE_H100]);
  });
});
