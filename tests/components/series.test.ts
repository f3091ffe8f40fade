import { describe, expect, it } from "vitest";
import { chooseHost, chooseModel, gpuSeries, hasGpuData, isSinglePoint, lossSeries, modelsWithCurves, parseLossXAxis, throughputSeries } from "@/components/metrics/series";
import type { GpuSnapshot, GpuUtilizationResponse, TrainingLossResponse } from "@/lib/schemas/api";
import { appendGpuSnapshot, snapshotUtilization } from "@/lib/swr/gpu-history";

const at = (s: number) => new Date(Date.UTC(2026, 10, 26, 10, 0, s)).toISOString();
const point = (s: number, gpu = 0, utilization: number | null = 50): GpuUtilizationResponse["metrics"][number] => ({
  timestamp: at(s),
  gpu_index: gpu,
  utilization,
  memory_used_gb: 6.136,
  memory_total_gb: 79.647,
});

function snapshot(s: number, over: Partial<GpuSnapshot> = {}): GpuSnapshot {
  const gpu = {
    index: 0, uuid: "GPU-1", name: "NVIDIA H100 80GB HBM3", bus_id: "00000000:00:06.0", utilization: 83, memory_utilization: 67,
    memory_used_mb: 6283, memory_total_mb: 81559,
    temperature_c: 42, power_w: 179.4, power_limit_w: 700, sm_clock_mhz: 1980, mem_clock_mhz: 2619, pstate: "P0",
    fan_percent: null, error: null, processes: [],
  };
  return { source: "replay", status: "ok", sampled_at: at(s), gpus: [gpu], ...over };
}

describe("gpuSeries", () => {
  it("splits by GPU, orders by time and takes the memory axis from the reported total", () => {
    const s = gpuSeries([point(2, 1), point(1, 0), point(0, 0, null)]);
    expect(s.gpus.map((g) => g.index)).toEqual([0, 1]);
    expect(s.gpus[0].utilization.map((p) => p.y)).toEqual([null, 50]);
    expect(s.gpus[0].utilization[0].x).toBe(Date.parse(at(0)));
    expect(s.memoryTotalGb).toBe(79.647);
  });

  it("has no memory maximum when no sample reports one (never a made-up 32 GB)", () => {
    expect(gpuSeries([{ ...point(0), memory_total_gb: null }]).memoryTotalGb).toBeNull();
    expect(gpuSeries([]).memoryTotalGb).toBeNull();
  });

  it("knows when there is nothing to draw", () => {
    expect(hasGpuData(undefined)).toBe(false);
    expect(hasGpuData({ metrics: [], current_utilization: null, source: "none" })).toBe(false);
    expect(hasGpuData({ metrics: [point(0)], current_utilization: 50, source: "replay" })).toBe(true);
  });
});

describe("chooseHost", () => {
  it("takes the host asked for while it exists, else this machine", () => {
    expect(chooseHost({ requested: "box-a", hosts: ["local", "box-a"] })).toBe("box-a");
    expect(chooseHost({ requested: "gone", hosts: ["local", "box-a"] })).toBe("local");
    expect(chooseHost({ requested: null, hosts: ["local", "box-a"] })).toBe("local");
    // Before the host list arrives the URL is trusted, so a reload does not flash this machine's chart.
    expect(chooseHost({ requested: "box-a", hosts: undefined })).toBe("box-a");
  });
});

describe("appendGpuSnapshot", () => {
  const history: GpuUtilizationResponse = { metrics: [point(0), point(10)], current_utilization: 50, source: "replay" };

  it("appends a live sample in GB and drops what left the range", () => {
    const next = appendGpuSnapshot(history, snapshot(20), 15_000);
    expect(next.metrics.map((m) => m.timestamp)).toEqual([at(10), at(20)]);
    expect(next.metrics.at(-1)).toMatchObject({ utilization: 83, memory_used_gb: 6.136, memory_total_gb: 79.647 });
    expect(next.current_utilization).toBe(83);
    expect(next.source).toBe("replay");
  });

  it("ignores samples already present, older ones and those of a source in trouble", () => {
    expect(appendGpuSnapshot(history, snapshot(10), 60_000)).toBe(history);
    expect(appendGpuSnapshot(history, snapshot(5), 60_000)).toBe(history);
    expect(appendGpuSnapshot(history, snapshot(20, { status: "unavailable", gpus: [] }), 60_000)).toBe(history);
    expect(appendGpuSnapshot(history, snapshot(20, { sampled_at: null }), 60_000)).toBe(history);
  });

  it("averages utilization over the GPUs that report it", () => {
    const s = snapshot(0);
    const two = { ...s, gpus: [s.gpus[0], { ...s.gpus[0], index: 1, utilization: 40 }, { ...s.gpus[0], index: 2, utilization: null }] };
    expect(snapshotUtilization(two)).toBe(61.5);
    expect(snapshotUtilization({ ...s, gpus: [] })).toBeNull();
  });
});

describe("loss and throughput series", () => {
  const loss: TrainingLossResponse["metrics"] = [
    { model: "majora-v1", step: 10, train_loss: 6.9, val_loss: null, timestamp: at(1), gpu_hours: 0.5, cost_usd: 18 },
    { model: "majora-v1", step: 5, train_loss: 7.0, val_loss: null, timestamp: at(0), gpu_hours: 0.25, cost_usd: 9 },
    { model: "majora-v1", step: 50, train_loss: null, val_loss: 3.0, timestamp: at(5), gpu_hours: 2.5, cost_usd: 90 },
    { model: "veran-v5", step: 5, train_loss: null, val_loss: null, timestamp: at(0), gpu_hours: null, cost_usd: null },
  ];

  it("takes one model's points in step order, train and validation apart", () => {
    expect(lossSeries(loss, "majora-v1")).toEqual({
      train: [
        { x: 5, y: 7.0 },
        { x: 10, y: 6.9 },
      ],
      val: [{ x: 50, y: 3.0 }],
    });
    expect(lossSeries(loss, "veran-v5")).toEqual({ train: [], val: [] });
  });

  it("draws the same points against wall time (epoch ms), GPU hours or spend", () => {
    expect(lossSeries(loss, "majora-v1", "time")).toEqual({
      train: [
        { x: Date.parse(at(0)), y: 7.0 },
        { x: Date.parse(at(1)), y: 6.9 },
      ],
      val: [{ x: Date.parse(at(5)), y: 3.0 }],
    });
    expect(lossSeries(loss, "majora-v1", "gpu_hours").train.map((p) => p.x)).toEqual([0.25, 0.5]);
    expect(lossSeries(loss, "majora-v1", "cost")).toEqual({
      train: [
        { x: 9, y: 7.0 },
        { x: 18, y: 6.9 },
      ],
      val: [{ x: 90, y: 3.0 }],
    });
  });

  it("leaves out the points with no such x (a trainer_state.json row has no time, a configured model no hours)", () => {
    const untimed = [
      { model: "m", step: 1, train_loss: 2.0, val_loss: null, timestamp: null, gpu_hours: null, cost_usd: null },
      { model: "m", step: 2, train_loss: 1.9, val_loss: 1.8, timestamp: at(2), gpu_hours: null, cost_usd: null },
      { model: "m", step: 3, train_loss: 1.7, val_loss: null, timestamp: "not a date", gpu_hours: 0.1, cost_usd: 3.6 },
    ];
    expect(lossSeries(untimed, "m").train).toHaveLength(3);
    expect(lossSeries(untimed, "m", "time")).toEqual({ train: [{ x: Date.parse(at(2)), y: 1.9 }], val: [{ x: Date.parse(at(2)), y: 1.8 }] });
    expect(lossSeries(untimed, "m", "gpu_hours")).toEqual({ train: [{ x: 0.1, y: 1.7 }], val: [] });
    expect(lossSeries(untimed.slice(0, 2), "m", "cost")).toEqual({ train: [], val: [] });
  });

  it("reads the x axis from the URL, the step for anything else", () => {
    expect(parseLossXAxis("cost")).toBe("cost");
    expect(parseLossXAxis("gpu_hours")).toBe("gpu_hours");
    expect(parseLossXAxis(null)).toBe("step");
    expect(parseLossXAxis("toString")).toBe("step");
  });

  it("lists the models that have curves", () => {
    expect(modelsWithCurves(loss)).toEqual(["majora-v1"]);
  });

  it("shows the model asked for, else the first with curves, else the first", () => {
    const models = [{ key: "veran-v5" }, { key: "majora-v1" }];
    expect(chooseModel({ requested: "veran-v5", models, withCurves: ["majora-v1"] })).toBe("veran-v5");
    expect(chooseModel({ requested: "ghost", models, withCurves: ["majora-v1"] })).toBe("majora-v1");
    expect(chooseModel({ requested: null, models, withCurves: [] })).toBe("veran-v5");
    expect(chooseModel({ requested: null, models: [], withCurves: [] })).toBeNull();
  });

  it("throughput: samples/s and tokens/s apart", () => {
    const t = throughputSeries(
      [
        { model: "majora-v1", step: 400, samples_per_sec: 564.05, tokens_per_sec: null, timestamp: at(0) },
        { model: "majora-v1", step: 200, samples_per_sec: 500, tokens_per_sec: 64_000, timestamp: at(0) },
      ],
      "majora-v1",
    );
    expect(t.samples).toEqual([
      { x: 200, y: 500 },
      { x: 400, y: 564.05 },
    ]);
    expect(t.tokens).toEqual([{ x: 200, y: 64_000 }]);
  });
});

describe("isSinglePoint", () => {
  const one = [{ x: 400, y: 564.05 }];
  const two = [...one, { x: 800, y: 570 }];

  it("is a lone measurement when every series with points has exactly one", () => {
    expect(isSinglePoint(one, [])).toBe(true);
    expect(isSinglePoint(one, one)).toBe(true);
  });

  it("is a chart once any series has two points, and nothing when all are empty", () => {
    expect(isSinglePoint(two, [])).toBe(false);
    expect(isSinglePoint(one, two)).toBe(false);
    expect(isSinglePoint([], [])).toBe(false);
    expect(isSinglePoint()).toBe(false);
  });
});
