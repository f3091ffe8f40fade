import "server-only";
import type { ComputeApp, GpuReading, GpuSnapshot, GpuSourceKind, GpuStatus } from "./types";

type LatestReadingsOptions = {
  source: GpuSourceKind;
  // Where each reading goes to be kept (the sample writer).
  store: (sample: { at: number; reading: GpuReading }) => void;
  notify: (snapshot: GpuSnapshot) => void;
};

// What the GPU endpoints and the live stream answer from: the newest reading of each GPU, which
// processes hold them, and how the source is doing. Sources push into it; it hands every reading
// on to be stored, and tells listeners when a source says a batch is complete.
export class LatestReadings {
  readonly source: GpuSourceKind;
  private current: { status: GpuStatus; reason?: string } = { status: "starting" };
  private readonly gpus = new Map<number, GpuReading>();
  private sampledAt: number | null = null;
  private apps: ComputeApp[] = [];
  private readonly store: LatestReadingsOptions["store"];
  private readonly notify: LatestReadingsOptions["notify"];

  constructor({ source, store, notify }: LatestReadingsOptions) {
    this.source = source;
    this.store = store;
    this.notify = notify;
  }

  get status(): GpuStatus {
    return this.current.status;
  }

  setStatus({ status, reason }: { status: GpuStatus; reason?: string }) {
    this.current = { status, reason };
  }

  addReading({ at, reading }: { at: number; reading: GpuReading }) {
    this.gpus.set(reading.index, reading);
    this.sampledAt = Math.max(this.sampledAt ?? at, at);
    this.store({ at, reading });
  }

  // Marks the GPU with this PCI bus id as failed (its values unknown) and says whether one was known.
  failGpu({ busId, message }: { busId: string; message: string }): boolean {
    const gpu = [...this.gpus.values()].find((g) => g.bus_id === busId);
    if (gpu) this.addReading({ at: Date.now(), reading: failedReading(gpu, message) });
    return gpu !== undefined;
  }

  setApps({ apps }: { apps: ComputeApp[] }) {
    this.apps = apps;
  }

  emit() {
    this.notify(this.snapshot());
  }

  snapshot(): GpuSnapshot {
    const { status, reason } = this.current;
    return {
      source: this.source,
      status,
      ...(reason ? { reason } : {}),
      sampled_at: this.sampledAt === null ? null : new Date(this.sampledAt).toISOString(),
      gpus: [...this.gpus.values()]
        .sort((a, b) => a.index - b.index)
        .map((gpu) => ({
          ...gpu,
          processes: this.apps.filter((a) => a.gpu_uuid === gpu.uuid).map(({ pid, name, used_memory_mb }) => ({ pid, name, used_memory_mb })),
        })),
    };
  }
}

function failedReading(gpu: GpuReading, message: string): GpuReading {
  return {
    ...gpu,
    pstate: null,
    utilization: null,
    memory_utilization: null,
    memory_used_mb: null,
    temperature_c: null,
    power_w: null,
    sm_clock_mhz: null,
    mem_clock_mhz: null,
    fan_percent: null,
    error: message,
  };
}
