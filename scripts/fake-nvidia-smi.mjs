#!/usr/bin/env node
// A stand-in for nvidia-smi in tests: answers --query-gpu / --query-compute-apps by replaying a
// real capture, printing only the requested fields in the requested order.
//   FAKE_NVIDIA_SMI_CAPTURE     --format=csv capture to replay (default: tests/fixtures/nvidia-smi/stream_500ms.csv)
//   FAKE_NVIDIA_SMI_APPS        --query-compute-apps capture (default: tests/fixtures/nvidia-smi/apps_busy.csv)
//   FAKE_NVIDIA_SMI_EXIT_AFTER  exit after printing this many lines
//   FAKE_NVIDIA_SMI_HANG_AFTER  stop printing after this many lines, but stay alive
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const fixtures = path.join(path.dirname(fileURLToPath(import.meta.url)), "..", "tests", "fixtures", "nvidia-smi");
const env = process.env;

// The header of a capture names some fields differently from the query that produced it.
const GPU_ALIASES = { "clocks.sm": "clocks.current.sm", "clocks.mem": "clocks.current.memory", "clocks.gr": "clocks.current.graphics" };
const APPS_ALIASES = { name: "process_name", used_memory: "used_gpu_memory" };

function fail(message) {
  process.stdout.write(message);
  process.exit(2);
}

let kind = null;
let fields = [];
let format = [];
let loopMs = 0;
const args = process.argv.slice(2);
for (let i = 0; i < args.length; i++) {
  const arg = args[i];
  const [flag, value] = arg.includes("=") ? [arg.slice(0, arg.indexOf("=")), arg.slice(arg.indexOf("=") + 1)] : [arg, undefined];
  if (flag === "--query-gpu" || flag === "--query-compute-apps") {
    kind = flag === "--query-gpu" ? "gpu" : "apps";
    fields = value.split(",").map((f) => f.trim());
  } else if (flag === "--format") format = value.split(",");
  else if (flag === "-l" || flag === "--loop") loopMs = Number(value ?? args[++i]) * 1000;
  else if (flag === "-lms" || flag === "--loop-ms") loopMs = Number(value ?? args[++i]);
  else fail(`fake-nvidia-smi: unsupported argument ${arg}\n`);
}
if (!kind || !format.includes("csv")) fail("fake-nvidia-smi: only --query-gpu or --query-compute-apps with --format=csv is supported\n");

const capturePath =
  kind === "gpu"
    ? (env.FAKE_NVIDIA_SMI_CAPTURE ?? path.join(fixtures, "stream_500ms.csv"))
    : (env.FAKE_NVIDIA_SMI_APPS ?? path.join(fixtures, "apps_busy.csv"));
const [headerLine, ...rowLines] = fs.readFileSync(capturePath, "utf8").split("\n").filter((l) => l.trim());
const header = headerLine.split(", ");
const names = header.map((h) => h.replace(/ \[[^\]]*\]$/, ""));
const aliases = kind === "gpu" ? GPU_ALIASES : APPS_ALIASES;
const columns = fields.map((f) => {
  const at = names.indexOf(aliases[f] ?? f);
  if (at === -1) fail(`Field "${f}" is not a valid field to query.\n\n`);
  return at;
});
const rows = rowLines.map((l) => l.split(", "));

// One tick is one line per GPU; a GPU index seen again starts the next.
const ticks = [];
const indexAt = names.indexOf("index");
for (const row of rows) {
  const last = ticks.at(-1);
  if (kind === "gpu" && indexAt !== -1 && last && !last.some((r) => r[indexAt] === row[indexAt])) last.push(row);
  else if (kind === "apps" && last) last.push(row);
  else ticks.push([row]);
}

const pad = (n, w = 2) => String(n).padStart(w, "0");
function now() {
  const d = new Date();
  return `${d.getFullYear()}/${pad(d.getMonth() + 1)}/${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

const noUnits = format.includes("nounits");
const exitAfter = env.FAKE_NVIDIA_SMI_EXIT_AFTER ? Number(env.FAKE_NVIDIA_SMI_EXIT_AFTER) : Infinity;
const hangAfter = env.FAKE_NVIDIA_SMI_HANG_AFTER ? Number(env.FAKE_NVIDIA_SMI_HANG_AFTER) : Infinity;
let printed = 0;
let hung = false;

function printTick(tick) {
  for (const row of tick) {
    if (printed >= hangAfter) {
      // Stay alive with nothing to say, like an nvidia-smi stuck in the driver.
      if (!hung) setInterval(() => {}, 2 ** 30);
      hung = true;
      return;
    }
    const cells = columns.map((at) => {
      if (names[at] === "timestamp") return now();
      return noUnits ? row[at].replace(/^(-?\d+(?:\.\d+)?) [A-Za-z%]+$/, "$1") : row[at];
    });
    process.stdout.write(cells.join(", ") + "\n");
    if (++printed >= exitAfter) process.exit(0);
  }
}

if (!format.includes("noheader")) process.stdout.write(columns.map((at) => header[at]).join(", ") + "\n");
printTick(ticks[0] ?? []);
if (kind === "gpu" && loopMs > 0) {
  let i = 1;
  setInterval(() => {
    if (hung) return;
    printTick(ticks[i++ % ticks.length]);
  }, loopMs);
}
