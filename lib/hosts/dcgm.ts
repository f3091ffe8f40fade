import "server-only";
import type { GpuReading } from "@/lib/gpu/types";
import { describeFetchError, readCapped } from "@/lib/http";

// The DCGM fields read into a GpuReading, all in dcgm-exporter's default counters except
// POWER_MGMT_LIMIT and FB_TOTAL, which are read when a counters file adds them. FB_* are MiB,
// the unit nvidia-smi's memory.* fields have. MEM_COPY_UTIL is NVML's memory utilization, the
// value nvidia-smi prints as utilization.memory.
const FIELDS = {
  DCGM_FI_DEV_GPU_UTIL: "utilization",
  DCGM_FI_DEV_MEM_COPY_UTIL: "memory_utilization",
  DCGM_FI_DEV_FB_USED: "fb_used",
  DCGM_FI_DEV_FB_FREE: "fb_free",
  DCGM_FI_DEV_FB_TOTAL: "fb_total",
  DCGM_FI_DEV_GPU_TEMP: "temperature_c",
  DCGM_FI_DEV_POWER_USAGE: "power_w",
  DCGM_FI_DEV_POWER_MGMT_LIMIT: "power_limit_w",
  DCGM_FI_DEV_SM_CLOCK: "sm_clock_mhz",
  DCGM_FI_DEV_MEM_CLOCK: "mem_clock_mhz",
} as const;
type Field = (typeof FIELDS)[keyof typeof FIELDS];

// DCGM's "blank" values (no data, not supported, not found...) are the top of the int64 range
// and 2^47 and above for doubles; dcgm-exporter prints them as they are.
const DCGM_BLANK_FROM = 2 ** 47;

export type ExpositionSample = { name: string; labels: Record<string, string>; value: number; timestamp: number | null };

const METRIC_NAME = /^[a-zA-Z_:][a-zA-Z0-9_:]*/;
const LABEL_NAME = /[a-zA-Z_][a-zA-Z0-9_]*/y;

// One line of the Prometheus text exposition format (0.0.4, and OpenMetrics' sample lines):
// `name{label="value",...} value [timestamp]`. Comments (HELP, TYPE, EOF), blank lines and
// malformed lines give null.
export function parseExpositionLine({ line }: { line: string }): ExpositionSample | null {
  const text = line.trim();
  if (!text || text.startsWith("#")) return null;
  const name = METRIC_NAME.exec(text)?.[0];
  if (!name) return null;
  // The name must end at a blank or "{"; blanks may stand before the "{".
  if (!/^[ \t{]/.test(text.slice(name.length))) return null;
  let at = name.length;
  while (text[at] === " " || text[at] === "\t") at++;
  const labels: Record<string, string> = {};
  if (text[at] === "{") {
    at = readLabels({ text, from: at + 1, labels });
    if (at === -1) return null;
  }
  const rest = text.slice(at).trim().split(/[ \t]+/);
  if (!rest[0] || rest.length > 2) return null;
  const value = parseValue(rest[0]);
  if (value === null) return null;
  const timestamp = rest[1] === undefined ? null : Number(rest[1]);
  return { name, labels, value, timestamp: timestamp !== null && Number.isFinite(timestamp) ? timestamp : null };
}

// A dcgm-exporter /metrics answer as GpuReadings, one per `gpu` label, in index order. Fields a
// GpuReading has and DCGM does not report (pstate, fan) are null; samples of a MIG instance
// (GPU_I_ID set) are left out, since the reading is the whole GPU's. timestamp is the newest
// sample timestamp, or null when the exporter wrote none (its default).
export function parseDcgmMetrics({ text }: { text: string }): { readings: GpuReading[]; timestamp: number | null } {
  type Gpu = { uuid: string | null; name: string | null; bus_id: string | null; values: Partial<Record<Field, number | null>> };
  const gpus = new Map<number, Gpu>();
  let timestamp: number | null = null;
  for (const line of text.split("\n")) {
    const sample = parseExpositionLine({ line });
    if (!sample || !(sample.name in FIELDS) || sample.labels.GPU_I_ID) continue;
    const index = sample.labels.gpu === undefined || !/^\d+$/.test(sample.labels.gpu) ? null : Number(sample.labels.gpu);
    if (index === null) continue;
    let gpu = gpus.get(index);
    if (!gpu) gpus.set(index, (gpu = { uuid: null, name: null, bus_id: null, values: {} }));
    gpu.uuid ??= sample.labels.UUID || null;
    gpu.name ??= sample.labels.modelName || null;
    gpu.bus_id ??= sample.labels.pci_bus_id ? sample.labels.pci_bus_id.toUpperCase() : null;
    gpu.values[FIELDS[sample.name as keyof typeof FIELDS]] = usable(sample.value);
    if (sample.timestamp !== null) timestamp = Math.max(timestamp ?? sample.timestamp, sample.timestamp);
  }
  const readings = [...gpus.entries()]
    .sort(([a], [b]) => a - b)
    .map(([index, gpu]): GpuReading => {
      const v = (field: Field) => gpu.values[field] ?? null;
      const used = v("fb_used");
      const free = v("fb_free");
      return {
        index,
        uuid: gpu.uuid,
        name: gpu.name,
        bus_id: gpu.bus_id,
        pstate: null,
        utilization: v("utilization"),
        memory_utilization: v("memory_utilization"),
        memory_used_mb: used,
        memory_total_mb: used !== null && free !== null ? used + free : v("fb_total"),
        temperature_c: v("temperature_c"),
        power_w: v("power_w"),
        power_limit_w: v("power_limit_w"),
        sm_clock_mhz: v("sm_clock_mhz"),
        mem_clock_mhz: v("mem_clock_mhz"),
        fan_percent: null,
        error: null,
      };
    });
  return { readings, timestamp };
}

export type DcgmState = {
  // connecting: no answer yet; no_gpu: the exporter answers but reports no GPU.
  state: "connecting" | "online" | "unreachable" | "no_gpu";
  reason?: string;
  // When the exporter last answered with metrics (ISO), null before it ever did.
  last_seen: string | null;
};

export type DcgmPoll = { state: () => DcgmState; stop: () => Promise<void> };

const DEFAULT_TIMEOUT_MS = 5000;
// Far above an 8-GPU exporter's answer (tens of KiB), low enough that a wrong URL serving
// something huge cannot fill memory.
const MAX_ANSWER_BYTES = 8 * 1024 * 1024;

// Reads a dcgm-exporter URL every intervalMs (counted from the start of the previous request, and
// never two requests at once), each with a timeout; hands each answer's readings to onReadings
// and every change of state to onState. A reason names the failure, never the URL.
export function pollDcgm({
  url,
  intervalMs,
  timeoutMs = DEFAULT_TIMEOUT_MS,
  onReadings,
  onState,
  fetch = globalThis.fetch,
}: {
  url: string;
  intervalMs: number;
  timeoutMs?: number;
  onReadings: (batch: { at: number; readings: GpuReading[] }) => void;
  onState: (state: DcgmState) => void;
  fetch?: typeof globalThis.fetch;
}): DcgmPoll {
  const stopping = new AbortController();
  let current: DcgmState = { state: "connecting", last_seen: null };
  let timer: NodeJS.Timeout | null = null;
  let inFlight: Promise<void> = Promise.resolve();

  const setState = (next: Omit<DcgmState, "last_seen">) => {
    const changed = next.state !== current.state || next.reason !== current.reason;
    current = { ...next, last_seen: current.last_seen };
    if (changed) callSafely(() => onState({ ...current }));
  };

  const readOnce = async () => {
    let text: string;
    try {
      const signal = AbortSignal.any([stopping.signal, AbortSignal.timeout(timeoutMs)]);
      const res = await fetch(url, { signal, headers: { accept: "text/plain" } });
      if (!res.ok) {
        // Not awaited: a body that was teed (cloned) only finishes cancelling with its twin.
        res.body?.cancel().catch(() => {});
        throw new Error(`HTTP ${res.status}`);
      }
      text = await readCapped({ res, maxBytes: MAX_ANSWER_BYTES });
    } catch (err) {
      if (!stopping.signal.aborted) setState({ state: "unreachable", reason: describeFetchError({ err, timeoutMs }) });
      return;
    }
    const { readings } = parseDcgmMetrics({ text });
    const at = Date.now();
    current = { ...current, last_seen: new Date(at).toISOString() };
    if (!readings.length) {
      setState({ state: "no_gpu", reason: "the exporter answered with no DCGM GPU metrics" });
      return;
    }
    callSafely(() => onReadings({ at, readings }));
    setState({ state: "online" });
  };

  const tick = () => {
    const started = Date.now();
    inFlight = readOnce().then(() => {
      if (!stopping.signal.aborted) timer = setTimeout(tick, Math.max(0, intervalMs - (Date.now() - started)));
    });
  };

  callSafely(() => onState({ ...current }));
  tick();
  return {
    state: () => ({ ...current }),
    stop: async () => {
      stopping.abort();
      if (timer) clearTimeout(timer);
      await inFlight;
    },
  };
}

// NaN, ±Inf and DCGM's blanks are no reading.
function usable(value: number): number | null {
  return Number.isFinite(value) && Math.abs(value) < DCGM_BLANK_FROM ? value : null;
}

function parseValue(text: string): number | null {
  const lower = text.toLowerCase();
  if (lower === "nan") return NaN;
  if (lower === "+inf" || lower === "inf") return Infinity;
  if (lower === "-inf") return -Infinity;
  if (!/^[+-]?(\d+\.?\d*|\.\d+)(e[+-]?\d+)?$/i.test(text)) return null;
  return Number(text);
}

// Label pairs from `from` (just past "{") to the closing "}"; returns the index after it, or -1.
// Values may escape \\, \" and \n.
function readLabels({ text, from, labels }: { text: string; from: number; labels: Record<string, string> }): number {
  let at = from;
  const skipSpace = () => {
    while (text[at] === " " || text[at] === "\t") at++;
  };
  for (;;) {
    skipSpace();
    if (text[at] === "}") return at + 1;
    LABEL_NAME.lastIndex = at;
    const name = LABEL_NAME.exec(text)?.[0];
    if (!name) return -1;
    at += name.length;
    skipSpace();
    if (text[at] !== "=") return -1;
    at++;
    skipSpace();
    if (text[at] !== '"') return -1;
    at++;
    let value = "";
    for (;;) {
      const c = text[at];
      if (c === undefined) return -1;
      if (c === '"') break;
      if (c === "\\") {
        const next = text[at + 1];
        value += next === "n" ? "\n" : next === "\\" || next === '"' ? next : `\\${next ?? ""}`;
        at += 2;
      } else {
        value += c;
        at++;
      }
    }
    at++;
    labels[name] = value;
    skipSpace();
    if (text[at] === ",") at++;
    else if (text[at] !== "}") return -1;
  }
}

function callSafely(fn: () => void) {
  try {
    fn();
  } catch (err) {
    console.error("[afs] dcgm-exporter listener failed:", err);
  }
}
