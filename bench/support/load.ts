import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import { createRequire } from "node:module";
import path from "node:path";

// Helpers for bench/load.bench.ts: a large generated data dir, autocannon, a plain-HTTP ceiling
// server and a crowd of SSE clients. Everything talks to 127.0.0.1 and stops by itself.

const STATUSES = ["pending", "running", "paused", "completed", "failed"] as const;

// Deterministic, so every run writes the same bytes.
function mulberry32(seed: number) {
  return () => {
    seed = (seed + 0x6d2b79f5) | 0;
    let t = Math.imul(seed ^ (seed >>> 15), 1 | seed);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const WORDS = ["yarrow", "umber", "harbor", "raven", "birch", "falcon", "lumen", "nectar", "quartz", "ember", "willow", "cobalt", "saffron", "glacier", "meadow", "tundra"];
const UNITS: Array<[string, string, number]> = [["liters", "gallons", 0.264172], ["km", "miles", 0.621371], ["kg", "pounds", 2.204623], ["meters", "feet", 3.28084]];

// The chat-format lines of data/models/*.jsonl: five task families, one per model.
function chatLine(family: number, rnd: () => number): string {
  const int = (lo: number, hi: number) => lo + Math.floor(rnd() * (hi - lo + 1));
  let system: string, user: string, assistant: string;
  switch (family) {
    case 0: {
      const step = int(1, 9);
      const start = int(0, 60);
      const seq = Array.from({ length: int(4, 7) }, (_, i) => start + i * step);
      const next = [1, 2, 3].map((i) => seq.at(-1)! + i * step);
      [system, user, assistant] = ["You continue integer sequences.", `Continue the sequence: ${seq.join(", ")}`, next.join(", ")];
      break;
    }
    case 1: {
      const days = int(1, 120);
      const from = new Date(Date.UTC(int(2018, 2025), int(0, 11), int(1, 28)));
      const to = new Date(from.getTime() + days * 86_400_000);
      [system, user, assistant] = ["You answer questions about dates.", `What date is ${days} days after ${from.toISOString().slice(0, 10)}?`, to.toISOString().slice(0, 10)];
      break;
    }
    case 2: {
      const words = Array.from({ length: int(4, 6) }, () => WORDS[int(0, WORDS.length - 1)]);
      [system, user, assistant] = ["You sort lists of words alphabetically.", `Sort: ${words.join(" ")}`, [...words].sort().join(" ")];
      break;
    }
    case 3: {
      const [a, b] = [int(100, 999), int(100, 999)];
      const op = ["+", "-", "*"][int(0, 2)];
      const value = op === "+" ? a + b : op === "-" ? a - b : a * b;
      [system, user, assistant] = ["You compute simple arithmetic.", `What is ${a} ${op} ${b}?`, String(value)];
      break;
    }
    default: {
      const [from, to, factor] = UNITS[int(0, UNITS.length - 1)];
      const n = int(1, 999);
      [system, user, assistant] = [
        "You convert between units and show the result rounded to two decimals.",
        `Convert ${n} ${from} to ${to}.`,
        `${n} ${from} is ${(n * factor).toFixed(2)} ${to}.`,
      ];
    }
  }
  return JSON.stringify({ messages: [{ role: "system", content: system }, { role: "user", content: user }, { role: "assistant", content: assistant }] }).replace(/","/g, '", "').replace(/":/g, '": ').replace(/\},\{/g, "}, {") + "\n";
}

const POOL_LINES = 60_000;

// Writes <dir>/afs.config.json with `models` models (m000, m001, ...) and one
// models/<key>_merged.jsonl each, sizes spread 0.5x..1.5x around the mean and `totalBytes` in all.
// Each file is written in multi-MB slices of a per-family pool of real lines, so nothing near the
// total size is ever held in memory.
export function writeLoadDataDir({ dir, models, totalBytes }: { dir: string; models: number; totalBytes: number }) {
  const rnd = mulberry32(20261126);
  fs.mkdirSync(path.join(dir, "models"), { recursive: true });
  const pools = STATUSES.map((_, family) => {
    const text = Array.from({ length: POOL_LINES }, () => chatLine(family, rnd)).join("");
    return Buffer.from(text, "utf8");
  });

  const keys = Array.from({ length: models }, (_, i) => `m${String(i).padStart(3, "0")}`);
  const weights = keys.map(() => 0.5 + rnd());
  const weightSum = weights.reduce((a, b) => a + b, 0);
  const config = {
    session: { name: "Load bench session", started_at: new Date(Date.now() - 3 * 86_400_000).toISOString(), budget_usd: 5000, currency: "USD" },
    models: keys.map((key, i) => {
      const status = STATUSES[i % STATUSES.length];
      const progress = status === "completed" ? 100 : status === "pending" ? 0 : Math.round(rnd() * 95 * 10) / 10;
      return {
        key,
        name: `Model ${i}`,
        base_model: "gpt2",
        status,
        progress,
        gpu_hours: status === "pending" ? 0 : Math.round(rnd() * 40 * 100) / 100,
        cost_per_hour: [1.2, 2.49, 3.95][i % 3],
        num_gpus: 1 + (i % 4),
        gpu_type: "H100 80GB HBM3",
        deployment_status: status === "completed" ? ["ready", "staging", "deployed"][i % 3] : "none",
      };
    }),
  };
  fs.writeFileSync(path.join(dir, "afs.config.json"), JSON.stringify(config, null, 2));

  let bytes = 0;
  let lines = 0;
  keys.forEach((key, i) => {
    const pool = pools[i % pools.length];
    const target = Math.round((totalBytes * weights[i]) / weightSum);
    const fd = fs.openSync(path.join(dir, "models", `${key}_merged.jsonl`), "w");
    // Start at a different line in the pool per model, then cycle through it.
    let offset = pool.indexOf(0x0a, Math.floor(rnd() * pool.length * 0.9)) + 1;
    let written = 0;
    while (written < target) {
      let end = Math.min(pool.length, offset + (target - written));
      if (end < pool.length) end = pool.lastIndexOf(0x0a, end - 1) + 1;
      if (end <= offset) break; // less than one line left to write
      const slice = pool.subarray(offset, end);
      fs.writeSync(fd, slice);
      for (let nl = slice.indexOf(0x0a); nl !== -1; nl = slice.indexOf(0x0a, nl + 1)) lines++;
      written += slice.length;
      offset = end === pool.length ? 0 : end;
    }
    fs.closeSync(fd);
    bytes += written;
  });
  return { keys, bytes, lines };
}

// --- autocannon (no bundled types) --------------------------------------------------------------

export type LoadResult = {
  requests: { mean: number; total: number };
  latency: { p50: number; p99: number; mean: number; max: number };
  throughput: { mean: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  "2xx": number;
};
type Autocannon = (opts: { url: string; connections: number; duration: number; headers?: Record<string, string> }) => Promise<LoadResult>;
const autocannon = createRequire(import.meta.url)("autocannon") as Autocannon;

export async function runLoad({
  url,
  connections,
  seconds,
  headers,
}: {
  url: string;
  connections: number;
  seconds: number;
  headers?: Record<string, string>;
}): Promise<LoadResult> {
  if (new URL(url).hostname !== "127.0.0.1") throw new Error(`load only goes to 127.0.0.1, not ${url}`);
  return autocannon({ url, connections, duration: seconds, headers });
}

// --- the ceilings: the same bytes from memory, behind plain node:http and behind a bare Next app ---

export type FixedRoute = { type: string; body: Buffer; etag: string };
export type CeilingServer = { url: string; child: ChildProcess; stop: () => Promise<void> };

// A child process, like the dashboard's server, so it does not share the load generator's event loop.
const PLAIN_SERVER = `
const http = require("node:http");
const routes = new Map(Object.entries(JSON.parse(require("node:fs").readFileSync(process.argv[1], "utf8")))
  .map(([p, r]) => [p, { type: r.type, etag: r.etag, body: Buffer.from(r.body, "base64") }]));
const server = http.createServer((req, res) => {
  const r = routes.get(req.url);
  if (!r) { res.statusCode = 404; res.end(); return; }
  res.setHeader("ETag", r.etag);
  res.setHeader("Cache-Control", "no-store");
  if (req.headers["if-none-match"] === r.etag) { res.statusCode = 304; res.end(); return; }
  res.setHeader("Content-Type", r.type);
  res.end(r.body);
});
server.listen(0, "127.0.0.1", () => process.stdout.write(String(server.address().port) + "\\n"));
process.on("SIGTERM", () => process.exit(0));
`;

// The route every bare Next handler answers: the bytes from memory, 304 on a matching ETag.
const NEXT_ROUTE = `
import fs from "node:fs";
const routes = new Map(Object.entries(JSON.parse(fs.readFileSync(process.env.CEILING_ROUTES!, "utf8")))
  .map(([p, r]: [string, any]) => [p, { type: r.type, etag: r.etag, body: Buffer.from(r.body, "base64") }]));
export const dynamic = "force-dynamic";
export async function GET(req: Request, { params }: { params: Promise<{ path: string[] }> }) {
  const r = routes.get("/api/" + (await params).path.join("/"));
  if (!r) return new Response(null, { status: 404 });
  const headers = { ETag: r.etag, "Cache-Control": "no-store" };
  if (req.headers.get("if-none-match") === r.etag) return new Response(null, { status: 304, headers });
  return new Response(r.body, { headers: { ...headers, "Content-Type": r.type } });
}
`;

function writeRoutes(file: string, routes: Record<string, FixedRoute>) {
  const encoded = Object.fromEntries(Object.entries(routes).map(([p, r]) => [p, { type: r.type, etag: r.etag, body: r.body.toString("base64") }]));
  fs.writeFileSync(file, JSON.stringify(encoded));
}

export async function startPlainServer({ routes, scratchFile }: { routes: Record<string, FixedRoute>; scratchFile: string }): Promise<CeilingServer> {
  writeRoutes(scratchFile, routes);
  const child = spawn(process.execPath, ["-e", PLAIN_SERVER, scratchFile], { stdio: ["ignore", "pipe", "inherit"] });
  const port = await new Promise<number>((resolve, reject) => {
    let out = "";
    const timer = setTimeout(() => reject(new Error("plain server did not start in 10 s")), 10_000);
    child.stdout!.on("data", (d) => {
      out += d;
      if (out.includes("\n")) {
        clearTimeout(timer);
        resolve(Number(out.trim()));
      }
    });
    child.once("exit", (code) => reject(new Error(`plain server exited with ${code}`)));
  });
  return { url: `http://127.0.0.1:${port}`, child, stop: () => stopChild(child) };
}

// A bare Next app of the same Next version, built with the same bundler, whose one catch-all
// route handler answers fixed bytes: what any route costs in this framework. Built in `dir`
// (inside the project, so Turbopack finds its node_modules) and started with `next start`.
export async function startNextCeiling({ routes, dir, port }: { routes: Record<string, FixedRoute>; dir: string; port: number }): Promise<CeilingServer> {
  const routeDir = path.join(dir, "app", "api", "[...path]");
  fs.mkdirSync(routeDir, { recursive: true });
  fs.writeFileSync(path.join(dir, "package.json"), JSON.stringify({ private: true }));
  fs.writeFileSync(path.join(routeDir, "route.ts"), NEXT_ROUTE);
  const routesFile = path.join(dir, "routes.json");
  writeRoutes(routesFile, routes);
  const next = createRequire(import.meta.url).resolve("next/dist/bin/next");
  const env = { ...process.env, NEXT_TELEMETRY_DISABLED: "1", CEILING_ROUTES: routesFile };
  execFileSync(process.execPath, [next, "build"], { cwd: dir, env, stdio: "ignore" });
  const child = spawn(process.execPath, [next, "start", "-p", String(port), "-H", "127.0.0.1"], { cwd: dir, env, stdio: "ignore" });
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 300; i++) {
    if (child.exitCode !== null) throw new Error("the bare Next app exited at start");
    if (await fetch(`${url}${Object.keys(routes)[0]}`).then((r) => r.ok, () => false)) return { url, child, stop: () => stopChild(child) };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error("the bare Next app did not answer in 30 s");
}

async function stopChild(child: ChildProcess) {
  if (child.exitCode !== null) return;
  const exited = new Promise((r) => child.once("exit", r));
  child.kill("SIGTERM");
  await exited;
}

// --- SSE clients ---------------------------------------------------------------------------------

export type SseClient = { bytes: number; events: number; comments: number; error: string | null; ended: boolean; close: () => void };

// Opens `count` EventSource-like connections (plain http.get, one socket each) and counts what
// arrives: `events` are blocks with an `event:` field, `comments` the `:` lines (connected,
// heartbeat). Resolves once every client has its response headers.
export async function openSseClients({ url, count }: { url: string; count: number }): Promise<SseClient[]> {
  if (new URL(url).hostname !== "127.0.0.1") throw new Error(`SSE clients only go to 127.0.0.1, not ${url}`);
  return Promise.all(
    Array.from(
      { length: count },
      () =>
        new Promise<SseClient>((resolve, reject) => {
          let closed = false;
          const client: SseClient = {
            bytes: 0,
            events: 0,
            comments: 0,
            error: null,
            ended: false,
            close: () => {
              closed = true;
              req.destroy();
            },
          };
          let pending = "";
          const req = http.get(url, { agent: false, headers: { Accept: "text/event-stream" } }, (res) => {
            if (res.statusCode !== 200) {
              reject(new Error(`SSE answered ${res.statusCode}`));
              res.resume();
              return;
            }
            req.setTimeout(0);
            res.setEncoding("utf8");
            res.on("data", (chunk: string) => {
              client.bytes += Buffer.byteLength(chunk);
              pending += chunk;
              let split: number;
              while ((split = pending.indexOf("\n\n")) !== -1) {
                const block = pending.slice(0, split);
                pending = pending.slice(split + 2);
                if (/^event:/m.test(block)) client.events++;
                else if (block.startsWith(":")) client.comments++;
              }
            });
            res.on("end", () => (client.ended = !closed));
            res.on("error", (error) => {
              if (!closed) client.error ??= error.message;
            });
            resolve(client);
          });
          req.setTimeout(15_000, () => req.destroy(new Error("no headers in 15 s")));
          req.on("error", (error) => {
            if (!closed) client.error ??= error.message;
            reject(error);
          });
        }),
    ),
  );
}

// Resident memory of a process, from /proc (Linux), in bytes; null elsewhere.
export function rssBytes(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+)\s+kB/m.exec(fs.readFileSync(`/proc/${pid}/status`, "utf8"));
    return m ? Number(m[1]) * 1024 : null;
  } catch {
    return null;
  }
}
