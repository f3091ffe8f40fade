import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { startServer, stopServer, type RunningServer } from "../e2e/support/server";
import { line, machine, timeMs } from "./report";
import { openSseClients, rssBytes, runLoad, startPlainServer, writeLoadDataDir, type LoadResult, type PlainServer } from "./support/load";

const MODELS = 200;
const TOTAL_BYTES = 2 * 2 ** 30;
const CONNECTIONS = 50;
const LOAD_SECONDS = 10;
const SSE_CLIENTS = 200;
const SSE_SECONDS = 60;
const ENDPOINTS = ["/api/models/status", "/api/training/status"];

const root = path.join(__dirname, "..");
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const pct = (now: number, base: number) => `${now >= base ? "+" : ""}${(((now - base) / base) * 100).toFixed(1)}%`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const summary = (r: LoadResult) =>
  `${Math.round(r.requests.mean).toLocaleString("en")} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx ${r.non2xx}, errors ${r.errors}`;

test("load: 200 models and 2 GiB of JSONL, 50 connections, 200 SSE clients", async () => {
  console.log(`\nLoad (${machine()})`);
  if (!fs.existsSync(path.join(root, ".next", "standalone", "server.js"))) {
    console.log("  .next/standalone/server.js is missing: running `npm run build` first");
    const ms = await timeMs(() => execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" }));
    line("npm run build (not part of the figures)", `${(ms / 1000).toFixed(0)} s`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-load-"));
  let server: RunningServer | undefined;
  let plain: PlainServer | undefined;
  try {
    let data = { keys: [] as string[], bytes: 0, lines: 0 };
    const genMs = await timeMs(() => (data = writeLoadDataDir({ dir, models: MODELS, totalBytes: TOTAL_BYTES })));
    line("data dir generated", `${MODELS} models, ${data.lines.toLocaleString("en")} JSONL lines, ${mb(data.bytes)} in ${(genMs / 1000).toFixed(1)} s`);

    // --- request load, GPU source off ---
    // startServer waits on /api/health, which reads the whole snapshot (it reports data-dir
    // warnings), so with the JSONL in place it would do the first scan itself. The folder is moved
    // aside while the server starts; a rename keeps every file's size and mtime.
    const models = path.join(dir, "models");
    fs.renameSync(models, `${models}-aside`);
    const bootStart = performance.now();
    server = await startServer({ dataDir: dir, env: { AFS_GPU_SOURCE: "off" } });
    const bootMs = performance.now() - bootStart;
    fs.renameSync(`${models}-aside`, models);
    line("server start (no JSONL yet), GPU source off", `${(bootMs / 1000).toFixed(1)} s`);
    const pid = server.child.pid!;
    const url = server.url;
    const rssIdle = rssBytes(pid);
    let first = { code: 0, text: "" };
    const firstMs = await timeMs(async () => {
      const res = await fetch(`${url}/api/models/status`);
      first = { code: res.status, text: await res.text() };
    });
    expect(first.code).toBe(200);
    const status = JSON.parse(first.text) as { models: Array<{ key: string; training_samples: number }> };
    // The first answer is the full scan of every JSONL file: check it counted what was written.
    expect(status.models).toHaveLength(MODELS);
    expect(status.models.reduce((sum, m) => sum + m.training_samples, 0)).toBe(data.lines);
    line("first GET /api/models/status (scans all)", `${(firstMs / 1000).toFixed(1)} s (${(data.bytes / 2 ** 20 / (firstMs / 1000)).toFixed(0)} MB/s; files in page cache)`);
    const againMs = await timeMs(() => fetch(`${url}/api/models/status`).then((r) => r.arrayBuffer()));
    line("second GET /api/models/status (cached)", `${againMs.toFixed(0)} ms`);
    line("server RSS: started, after the first scan", `${mb(rssIdle ?? 0)}, ${mb(rssBytes(pid) ?? 0)}`);

    // The same bytes, from memory, behind a plain Node http server: the ceiling.
    const routes: Record<string, { type: string; body: Buffer }> = {};
    for (const endpoint of ENDPOINTS) {
      const res = await fetch(`${server.url}${endpoint}`);
      expect(res.status).toBe(200);
      routes[endpoint] = { type: res.headers.get("content-type") ?? "application/json", body: Buffer.from(await res.arrayBuffer()) };
    }
    plain = await startPlainServer({ routes, scratchFile: path.join(dir, "plain-routes.json") });

    for (const endpoint of ENDPOINTS) {
      const dashboard = await runLoad({ url: `${server.url}${endpoint}`, connections: CONNECTIONS, seconds: LOAD_SECONDS });
      const ceiling = await runLoad({ url: `${plain.url}${endpoint}`, connections: CONNECTIONS, seconds: LOAD_SECONDS });
      line(`GET ${endpoint} (${(routes[endpoint].body.length / 1024).toFixed(1)} KB)`, `${CONNECTIONS} connections, ${LOAD_SECONDS} s`);
      line("  dashboard", summary(dashboard));
      line("  plain http server, same bytes from memory", summary(ceiling));
      line("  dashboard / plain", `${(dashboard.requests.mean / ceiling.requests.mean).toFixed(3)}`);
      expect(dashboard.errors, `${endpoint}: errors`).toBe(0);
      expect(dashboard.non2xx, `${endpoint}: non-2xx answers`).toBe(0);
      expect(dashboard["2xx"], `${endpoint}: answers`).toBeGreaterThan(0);
      expect(ceiling.errors + ceiling.non2xx, `${endpoint}: plain server errors`).toBe(0);
    }
    line("server RSS after the request load", mb(rssBytes(pid) ?? 0));
    await plain.stop();
    plain = undefined;
    const loggedErrors = server.output().split("\n").filter((l) => /error/i.test(l));
    line("server log lines mentioning errors", String(loggedErrors.length));
    await stopServer(server);
    server = undefined;

    // --- SSE clients, GPU replayed from the real H100 capture so gpu events flow ---
    const capture = path.join(root, "data", "gpu", "stream_500ms.csv");
    const sseStart = performance.now();
    server = await startServer({ dataDir: dir, env: { AFS_GPU_SOURCE: `replay:${capture}` } });
    const startMs = performance.now() - sseStart;
    // This time /api/health does the first scan while startServer waits on it.
    line("server start incl. first scan by /api/health", `${(startMs / 1000).toFixed(1)} s (GPU source replay)`);
    const ssePid = server.child.pid!;
    const sseUrl = server.url;
    await sleep(2000);
    const before = rssBytes(ssePid) ?? 0;
    let clients: Awaited<ReturnType<typeof openSseClients>> = [];
    const connectMs = await timeMs(async () => (clients = await openSseClients({ url: `${sseUrl}/api/stream`, count: SSE_CLIENTS })));
    // Growth over the 60 s is measured from here, once every client holds its connection: the
    // connections' own buffers are not growth.
    await sleep(2000);
    const connected = rssBytes(ssePid) ?? 0;
    let peak = connected;
    const sampler = setInterval(() => (peak = Math.max(peak, rssBytes(ssePid) ?? 0)), 1000);
    await sleep(SSE_SECONDS * 1000);
    clearInterval(sampler);
    const after = rssBytes(ssePid) ?? 0;
    peak = Math.max(peak, after);
    const events = clients.map((c) => c.events).sort((a, b) => a - b);
    const bytes = clients.reduce((sum, c) => sum + c.bytes, 0);
    const failed = clients.filter((c) => c.error !== null || c.ended);
    for (const c of clients) c.close();
    await sleep(3000);
    const closed = rssBytes(ssePid) ?? 0;
    const health = await fetch(`${server.url}/api/health`);
    const sseLogErrors = server.output().split("\n").filter((l) => /error/i.test(l));

    line(`GET /api/stream, ${SSE_CLIENTS} clients, ${SSE_SECONDS} s`, `replay of data/gpu/stream_500ms.csv, all connected in ${connectMs.toFixed(0)} ms`);
    line("  events per client (min / median / max)", `${events[0]} / ${events[events.length >> 1]} / ${events.at(-1)}`);
    line("  received in all", `${events.reduce((a, b) => a + b, 0).toLocaleString("en")} events, ${(bytes / 2 ** 20).toFixed(1)} MB`);
    line("  clients with an error or an early end", String(failed.length));
    line("  server RSS before the clients", mb(before));
    line("  server RSS with all clients connected", mb(connected));
    line("  server RSS after 60 s (peak)", `${mb(after)} (${mb(peak)}), ${pct(after, connected)} since connected, ${pct(after, before)} since before`);
    line("  server RSS 3 s after all clients closed", mb(closed));
    line("  server log lines mentioning errors", String(sseLogErrors.length));
    expect(failed.map((c) => c.error)).toEqual([]);
    expect(events[0], "every client received at least one event").toBeGreaterThanOrEqual(1);
    expect(health.status).toBe(200);
  } finally {
    await plain?.stop();
    if (server) await stopServer(server);
    fs.rmSync(dir, { recursive: true, force: true });
  }
});
