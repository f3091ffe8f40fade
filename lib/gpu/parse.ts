import type { ComputeApp, GpuReading } from "./types";

// What the poller asks for, in this order. pci.bus_id is there so an NVML failure line, which
// names a GPU only by bus id, can be pinned on the right GPU.
export const GPU_QUERY_FIELDS = [
  "timestamp",
  "index",
  "uuid",
  "name",
  "pci.bus_id",
  "pstate",
  "temperature.gpu",
  "utilization.gpu",
  "utilization.memory",
  "memory.total",
  "memory.used",
  "power.draw",
  "power.limit",
  "clocks.sm",
  "clocks.mem",
  "fan.speed",
] as const;

export const APPS_QUERY_FIELDS = ["pid", "process_name", "used_memory", "gpu_uuid"] as const;

// The header names some fields differently from the query: clocks.sm prints as "clocks.current.sm [MHz]".
const HEADER_ALIASES: Record<string, string> = {
  "clocks.current.sm": "clocks.sm",
  "clocks.current.memory": "clocks.mem",
  "clocks.current.graphics": "clocks.gr",
  "clocks.current.video": "clocks.video",
  used_gpu_memory: "used_memory",
};

// Absent values, not faults: a data-centre card has no fan, a consumer card no power limit.
const NULL_VALUES = new Set(["[N/A]", "[Not Supported]", "[Insufficient Permissions]", "N/A"]);

const HEADER_CELL = /^[a-z][a-z0-9_.]*(?: \[[^\]]*\])?$/;
const NUMBER = /^(-?\d+(?:\.\d+)?)(?: ?[A-Za-z%]+)?$/;
const TIMESTAMP = /^(\d{4})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,3}))?$/;
const BUS_ID = /(?<![0-9a-f])(?:([0-9a-f]{1,8}):)?([0-9a-f]{2}):([0-9a-f]{2})\.([0-9a-f])/i;

export type GpuLine =
  | { kind: "header"; fields: string[] }
  | { kind: "reading"; timestamp: number | null; reading: GpuReading }
  | { kind: "failure"; message: string; bus_id: string | null };

// One line of `--query-gpu` CSV output (with or without header, units or nounits). `fields` is
// the column order in force: the query's, or the last header's. Blank lines give null.
export function parseGpuLine({ line, fields }: { line: string; fields: readonly string[] }): GpuLine | null {
  const text = line.trim();
  if (!text) return null;
  const cells = text.split(", ").map((c) => c.trim());
  if (cells.every((c) => HEADER_CELL.test(c))) return { kind: "header", fields: cells.map(headerField) };
  const index = cells.length === fields.length ? parseNumber(cells[fields.indexOf("index")]) : null;
  if (index === null || !Number.isInteger(index)) return { kind: "failure", message: text, bus_id: findBusId(text) };

  const cell = (field: string) => {
    const at = fields.indexOf(field);
    return at === -1 ? null : cells[at];
  };
  let error: string | null = null;
  for (const c of cells) {
    if (!NULL_VALUES.has(c) && c.startsWith("[") && c.endsWith("]")) {
      error = c.slice(1, -1);
      break;
    }
  }
  const str = (field: string) => {
    const c = cell(field);
    return c === null || c.startsWith("[") || c === "N/A" ? null : c;
  };
  const num = (field: string) => parseNumber(cell(field));
  const busId = str("pci.bus_id");
  return {
    kind: "reading",
    timestamp: parseTimestamp(str("timestamp")),
    reading: {
      index,
      uuid: str("uuid"),
      name: str("name"),
      bus_id: busId === null ? null : findBusId(busId),
      pstate: str("pstate"),
      utilization: num("utilization.gpu"),
      memory_utilization: num("utilization.memory"),
      memory_used_mb: num("memory.used"),
      memory_total_mb: num("memory.total"),
      temperature_c: num("temperature.gpu"),
      power_w: num("power.draw"),
      power_limit_w: num("power.limit"),
      sm_clock_mhz: num("clocks.sm"),
      mem_clock_mhz: num("clocks.mem"),
      fan_percent: num("fan.speed"),
      error,
    },
  };
}

export function parseGpuCsv({ text, fields = GPU_QUERY_FIELDS }: { text: string; fields?: readonly string[] }) {
  let order: readonly string[] = fields;
  const readings: Array<{ timestamp: number | null; reading: GpuReading }> = [];
  const failures: Array<{ message: string; bus_id: string | null }> = [];
  for (const line of text.split("\n")) {
    const parsed = parseGpuLine({ line, fields: order });
    if (parsed?.kind === "header") order = parsed.fields;
    else if (parsed?.kind === "reading") readings.push({ timestamp: parsed.timestamp, reading: parsed.reading });
    else if (parsed?.kind === "failure") failures.push({ message: parsed.message, bus_id: parsed.bus_id });
  }
  return { readings, failures };
}

// `--query-compute-apps` output. A process name may itself contain ", ", so surplus cells go back into it.
export function parseComputeApps({ text, fields = APPS_QUERY_FIELDS }: { text: string; fields?: readonly string[] }): ComputeApp[] {
  let order: readonly string[] = fields;
  const apps: ComputeApp[] = [];
  for (const line of text.split("\n")) {
    const trimmed = line.trim();
    if (!trimmed) continue;
    const cells = trimmed.split(", ").map((c) => c.trim());
    if (cells.every((c) => HEADER_CELL.test(c))) {
      order = cells.map(headerField);
      continue;
    }
    const nameAt = order.findIndex((f) => f === "process_name" || f === "name");
    const surplus = cells.length - order.length;
    if (surplus < 0 || (surplus > 0 && nameAt === -1)) continue;
    if (surplus > 0) cells.splice(nameAt, surplus + 1, cells.slice(nameAt, nameAt + surplus + 1).join(", "));
    const cell = (field: string) => cells[order.indexOf(field)] ?? null;
    const pid = parseNumber(cell("pid"));
    const uuid = cell("gpu_uuid");
    if (pid === null || !Number.isInteger(pid) || !uuid) continue;
    apps.push({ pid, name: nameAt === -1 ? "" : cells[nameAt], used_memory_mb: parseNumber(cell("used_memory")), gpu_uuid: uuid });
  }
  return apps;
}

function headerField(cell: string): string {
  const name = cell.replace(/ \[[^\]]*\]$/, "");
  return HEADER_ALIASES[name] ?? name;
}

function parseNumber(cell: string | null | undefined): number | null {
  const m = cell ? NUMBER.exec(cell) : null;
  return m ? Number(m[1]) : null;
}

// nvidia-smi prints the host's local time with no zone, so it is read as local time.
function parseTimestamp(cell: string | null): number | null {
  const m = cell ? TIMESTAMP.exec(cell) : null;
  if (!m) return null;
  const [, y, mo, d, h, mi, s, ms = "0"] = m;
  return new Date(+y, +mo - 1, +d, +h, +mi, +s, Number(ms.padEnd(3, "0"))).getTime();
}

// Bus ids come as "00000000:3B:00.0" from pci.bus_id and as "0000:3B:00.0" in NVML messages.
function findBusId(text: string): string | null {
  const m = BUS_ID.exec(text);
  if (!m) return null;
  const [, domain = "0", bus, device, fn] = m;
  return `${domain.padStart(8, "0")}:${bus}:${device}.${fn}`.toUpperCase();
}
