import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "vitest";
import { freePort } from "../e2e/support/env";
import { startServer, stopServer, type RunningServer } from "../e2e/support/server";
import { createDatabase, startPostgres, type PostgresServer } from "../tests/support/postgres";
import { line, machine, timeMs } from "./report";
import { openSseClients, rssBytes, runLoad, startNextCeiling, startPlainServer, writeLoadDataDir, type CeilingServer, type LoadResult } from "./support/load";

const MODELS = 200;
const TOTAL_BYTES = 2 ** 30;
const CONNECTIONS = 50;
const LOAD_SECONDS = 10;
const SSE_CLIENTS = 200;
const SSE_SECONDS = 60;
const ENDPOINT = "/api/models/status";

const root = path.join(__dirname, "..");
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const pct = (now: number, base: number) => `${now >= base ? "+" : ""}${(((now - base) / base) * 100).toFixed(1)}%`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const ratio = (on: LoadResult, base: LoadResult) =>
  `${(on.requests.mean / base.requests.mean).toFixed(2)} of its req/s, p50 ${(on.latency.p50 / base.latency.p50).toFixed(2)}x, p99 ${(on.latency.p99 / base.latency.p99).toFixed(2)}x`;
const summary = (r: LoadResult) =>
  `${Math.round(r.requests.mean).toLocaleString("en")} req/s, p50 ${r.latency.p50} ms, p99 ${r.latency.p99} ms, non-2xx/304 ${r.non2xx}, errors ${r.errors}`;

// Polls until `url` answers 200; the time from `since`.
async function answeredAfter(url: string, since: number): Promise<number> {
  for (;;) {
    const ok = await fetch(url).then((r) => r.ok, () => false);
    if (ok) return performance.now() - since;
    await sleep(5);
  }
}

// Polls /api/health until the first scan has counted every file and, with `checked`, until
// every line has also been checked as JSON (a worker thread, after the counts); the time from
// `since`. Answers come before that: models not read yet show the count the store kept.
async function scannedAfter(url: string, since: number, { checked = false } = {}): Promise<number> {
  for (;;) {
    const { scan } = await (await fetch(`${url}/api/health`)).json();
    if (scan.state === "ready" && (!checked || scan.checking === 0)) return performance.now() - since;
    await sleep(20);
  }
}

const totalSamples = (body: { models: Array<{ training_samples: number }> }) => body.models.reduce((sum, m) => sum + m.training_samples, 0);

// The store engine the server says it runs on: a build older than the PostgreSQL store would
// ignore DATABASE_URL and measure SQLite twice.
async function storeEngine(url: string): Promise<string | undefined> {
  return (await (await fetch(`${url}/api/health`)).json()).store?.engine;
}

test("load: 200 models and 1 GiB of JSONL against the framework's ceiling, SQLite and PostgreSQL, 200 SSE clients", async () => {
  console.log(`\nLoad (${machine()})`);
  // The servers inherit this environment: a DATABASE_URL from the runner's shell would put the
  // SQLite figures on PostgreSQL. The PostgreSQL run passes its own.
  delete process.env.DATABASE_URL;
  if (!fs.existsSync(path.join(root, ".next", "standalone", "server.js"))) {
    console.log("  .next/standalone/server.js is missing: running `npm run build` first");
    const ms = await timeMs(() => execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" }));
    line("npm run build (not part of the figures)", `${(ms / 1000).toFixed(0)} s`);
  }

  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-load-"));
  // Inside the project, so Turbopack resolves the bare app's `next` from our node_modules.
  const ceilingDir = fs.mkdtempSync(path.join(root, ".bench-ceiling-"));
  let server: RunningServer | undefined;
  let postgres: PostgresServer | undefined;
  const ceilings: CeilingServer[] = [];
  try {
    let data = { keys: [] as string[], bytes: 0, lines: 0 };
    const genMs = await timeMs(() => (data = writeLoadDataDir({ dir, models: MODELS, totalBytes: TOTAL_BYTES })));
    line("data dir generated", `${MODELS} models, ${data.lines.toLocaleString("en")} JSONL lines, ${mb(data.bytes)} in ${(genMs / 1000).toFixed(1)} s`);
    const files = data.keys.map((k) => path.join(dir, "models", `${k}_merged.jsonl`));
    const wcMs = await timeMs(() => execFileSync("wc", ["-l", ...files], { stdio: "ignore" }));
    line("wc -l over the same files (page cache)", `${(wcMs / 1000).toFixed(2)} s`);

    // --- start-up: health answers at once; the first models answer waits for the first scan ---
    let since = performance.now();
    server = await startServer({ dataDir: dir, env: { AFS_GPU_SOURCE: "off" } });
    const startupMs = performance.now() - since;
    const firstMs = await answeredAfter(`${server.url}${ENDPOINT}`, since);
    const countedMs = await scannedAfter(server.url, since);
    const counted = await (await fetch(`${server.url}${ENDPOINT}`)).json();
    expect(await storeEngine(server.url)).toBe("sqlite");
    // Once the first scan is done the answer counts every JSONL file: check it counted what was written.
    expect(counted.models).toHaveLength(MODELS);
    expect(totalSamples(counted)).toBe(data.lines);
    line("server start-up (until /api/health answers)", `${(startupMs / 1000).toFixed(2)} s`);
    line("first /api/models/status after start", `${(firstMs / 1000).toFixed(2)} s (it need not wait for the first scan)`);
    line("every line counted (first scan done)", `${(countedMs / 1000).toFixed(2)} s: ${((countedMs - startupMs) / wcMs).toFixed(2)}x wc -l beyond start-up`);
    const pid = server.child.pid!;
    line("server RSS after the first scan", mb(rssBytes(pid) ?? 0));
    const checkedMs = await scannedAfter(server.url, since, { checked: true });
    line("JSON check of every line done (worker thread)", `${(checkedMs / 1000).toFixed(1)} s after start`);
    await stopServer(server);
    since = performance.now();
    server = await startServer({ dataDir: dir, env: { AFS_GPU_SOURCE: "off" } });
    const restartUpMs = performance.now() - since;
    const restartMs = await answeredAfter(`${server.url}${ENDPOINT}`, since);
    const health = await (await fetch(`${server.url}/api/health`)).json();
    line("restart over unchanged files", `${(restartMs / 1000).toFixed(2)} s to the first answer (start-up ${(restartUpMs / 1000).toFixed(2)} s), ${health.scan.bytes_read} JSONL bytes read`);

    // --- three servers, the same bytes: the dashboard, a bare Next route handler, node:http ---
    const res = await fetch(`${server.url}${ENDPOINT}`);
    expect(res.status).toBe(200);
    const etag = res.headers.get("etag")!;
    const routes = { [ENDPOINT]: { type: res.headers.get("content-type") ?? "application/json", body: Buffer.from(await res.arrayBuffer()), etag } };
    const buildMs = await timeMs(async () => ceilings.push(await startNextCeiling({ routes, dir: ceilingDir, port: freePort() })));
    line("bare Next app built and started (not part of the figures)", `${(buildMs / 1000).toFixed(0)} s`);
    ceilings.push(await startPlainServer({ routes, scratchFile: path.join(dir, "plain-routes.json") }));
    const [nextCeiling, plain] = ceilings;
    const onSqlite: Record<string, LoadResult> = {};
    for (const [label, headers] of [["200", undefined], ["304 (If-None-Match)", { "if-none-match": etag }]] as const) {
      const dashboard = await runLoad({ url: `${server.url}${ENDPOINT}`, connections: CONNECTIONS, seconds: LOAD_SECONDS, headers });
      const bare = await runLoad({ url: `${nextCeiling.url}${ENDPOINT}`, connections: CONNECTIONS, seconds: LOAD_SECONDS, headers });
      const node = await runLoad({ url: `${plain.url}${ENDPOINT}`, connections: CONNECTIONS, seconds: LOAD_SECONDS, headers });
      onSqlite[label] = dashboard;
      line(`GET ${ENDPOINT}, ${label} (${(routes[ENDPOINT].body.length / 1024).toFixed(1)} KB)`, `${CONNECTIONS} connections, ${LOAD_SECONDS} s`);
      line("  dashboard", summary(dashboard));
      line("  bare Next route handler, same bytes", summary(bare));
      line("  plain node:http, same bytes", summary(node));
      line("  dashboard / bare Next", `${(dashboard.requests.mean / bare.requests.mean).toFixed(2)} of its req/s, p99 ${(dashboard.latency.p99 / bare.latency.p99).toFixed(2)}x`);
      line("  dashboard / node:http", `${(dashboard.requests.mean / node.requests.mean).toFixed(3)} of its req/s`);
      for (const r of [dashboard, bare, node]) {
        expect(r.errors).toBe(0);
        // autocannon counts a 304 as non-2xx.
        if (!headers) expect(r.non2xx).toBe(0);
      }
    }
    line("server RSS after the request load", mb(rssBytes(server.child.pid!) ?? 0));
    for (const c of ceilings.splice(0)) await c.stop();
    const loggedErrors = server.output().split("\n").filter((l) => /error/i.test(l));
    line("server log lines mentioning errors", String(loggedErrors.length));
    await stopServer(server);
    server = undefined;

    // --- the same warm load with the store on PostgreSQL: a fresh database, the same data dir ---
    postgres = await startPostgres();
    const databaseUrl = await createDatabase(postgres.adminUrl);
    since = performance.now();
    server = await startServer({ dataDir: dir, env: { AFS_GPU_SOURCE: "off", DATABASE_URL: databaseUrl } });
    expect(await storeEngine(server.url)).toBe("postgres");
    // An empty database keeps no counts: every file is counted again.
    const pgCountedMs = await scannedAfter(server.url, since);
    const pgCheckedMs = await scannedAfter(server.url, since, { checked: true });
    expect(totalSamples(await (await fetch(`${server.url}${ENDPOINT}`)).json())).toBe(data.lines);
    line("PostgreSQL store, empty: every line counted", `${(pgCountedMs / 1000).toFixed(2)} s after start, checked as JSON ${(pgCheckedMs / 1000).toFixed(1)} s`);
    // Its own ETag: the body carries the snapshot's time, so it differs from the SQLite server's.
    const pgEtag = (await fetch(`${server.url}${ENDPOINT}`)).headers.get("etag")!;
    for (const [label, headers] of [["200", undefined], ["304 (If-None-Match)", { "if-none-match": pgEtag }]] as const) {
      const onPostgres = await runLoad({ url: `${server.url}${ENDPOINT}`, connections: CONNECTIONS, seconds: LOAD_SECONDS, headers });
      line(`GET ${ENDPOINT}, ${label}, by store engine`, `${CONNECTIONS} connections, ${LOAD_SECONDS} s, warm`);
      line("  SQLite (above)", summary(onSqlite[label]));
      line("  PostgreSQL", summary(onPostgres));
      line("  PostgreSQL / SQLite", ratio(onPostgres, onSqlite[label]));
      expect(onPostgres.errors).toBe(0);
      if (!headers) expect(onPostgres.non2xx).toBe(0);
    }
    line("server log lines mentioning errors", String(server.output().split("\n").filter((l) => /error/i.test(l)).length));
    await stopServer(server);
    server = undefined;
    await postgres.stop();
    postgres = undefined;

    // --- SSE clients, GPU replayed from the real H100 capture so gpu events flow ---
    const capture = path.join(root, "data", "gpu", "stream_500ms.csv");
    server = await startServer({ dataDir: dir, env: { AFS_GPU_SOURCE: `replay:${capture}` } });
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
    const healthAfter = await fetch(`${server.url}/api/health`);
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
    expect(healthAfter.status).toBe(200);
  } finally {
    for (const c of ceilings) await c.stop();
    if (server) await stopServer(server);
    await postgres?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
    fs.rmSync(ceilingDir, { recursive: true, force: true });
  }
});
