import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { chromium, type Browser, type BrowserContext, type CDPSession } from "@playwright/test";
import { expect, test } from "vitest";
import { chromiumPath, copyDemoData } from "../e2e/support/env";
import { startServer, stopServer, type RunningServer } from "../e2e/support/server";
import { scaleKey, writeScaleData } from "../e2e/support/scale";
import { E2E_TOKEN } from "../e2e/support/env";
import { line, machine, timeMs } from "./report";
import { openSseClients } from "./support/load";

// AFS_BENCH_HEAP_MINUTES=1 for a quick try; the figures are read over 10.
const HEAP_MINUTES = Number(process.env.AFS_BENCH_HEAP_MINUTES ?? 10);
const WARM_UP_MS = 60_000;
const LIVE_TABS = ["overview", "metrics"] as const;
const LAUNCH_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"];

const root = path.join(__dirname, "..");
const kb = (bytes: number) => `${(bytes / 1000).toFixed(1)} kB`;
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(1)} MB`;
const pct = (now: number, base: number) => `${now >= base ? "+" : ""}${(((now - base) / base) * 100).toFixed(1)}%`;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

// The bundled capture holds 2 samples/s and replay keeps the recorded pace: every other sample
// of it is the same GPU at 1 sample/s.
function writeCaptureAtOneHertz(dataDir: string): string {
  const [header, ...samples] = fs.readFileSync(path.join(dataDir, "gpu", "stream_500ms.csv"), "utf8").trimEnd().split("\n");
  const file = path.join(dataDir, "gpu", "stream_1s.csv");
  fs.writeFileSync(file, [header, ...samples.filter((_, i) => i % 2 === 0)].join("\n") + "\n");
  return file;
}

// The JS a fresh browser loads for `url` (Next's chunks, including those imported after
// hydration), sized from the build on disk: as built and gzipped by zlib at its default level.
async function loadedJs(context: BrowserContext, url: string) {
  const page = await context.newPage();
  const files = new Set<string>();
  page.on("response", (res) => {
    const { pathname } = new URL(res.url());
    if (pathname.startsWith("/_next/static/") && pathname.endsWith(".js")) files.add(decodeURIComponent(pathname.slice("/_next/static/".length)));
  });
  await page.goto(url, { waitUntil: "load" });
  for (let seen = -1; seen !== files.size; await page.waitForTimeout(2000)) seen = files.size;
  await page.close();
  let raw = 0;
  let gzip = 0;
  for (const file of files) {
    const bytes = fs.readFileSync(path.join(root, ".next", "static", file));
    raw += bytes.length;
    gzip += zlib.gzipSync(bytes).length;
  }
  return { files: files.size, raw, gzip };
}

// The page's JS heap after a full collection.
async function heapUsed(cdp: CDPSession): Promise<number> {
  await cdp.send("HeapProfiler.collectGarbage");
  return (await cdp.send("Runtime.getHeapUsage")).usedSize;
}

test("page: first-load JS of /, JS heap of the live tabs", { timeout: (HEAP_MINUTES + 15) * 60_000 }, async () => {
  console.log(`\nPage (${machine()})`);
  if (!fs.existsSync(path.join(root, ".next", "standalone", "server.js"))) {
    console.log("  .next/standalone/server.js is missing: running `npm run build` first");
    const ms = await timeMs(() => execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" }));
    line("npm run build (not part of the figures)", `${(ms / 1000).toFixed(0)} s`);
  }

  const dataDir = copyDemoData();
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: `replay:${writeCaptureAtOneHertz(dataDir)}` } });
    browser = await chromium.launch({ executablePath: chromiumPath(), args: LAUNCH_ARGS });

    for (const url of ["/", "/?tab=metrics"]) {
      const context = await browser.newContext();
      const js = await loadedJs(context, `${server.url}${url}`);
      await context.close();
      line(`first-load JS of ${url}`, `${kb(js.gzip)} gzip (${kb(js.raw)} as built), ${js.files} files`);
    }

    // Each tab in its own context (its own renderer), both following /api/stream at once.
    const tabs = await Promise.all(
      LIVE_TABS.map(async (tab) => {
        const context = await browser!.newContext();
        const page = await context.newPage();
        const cdp = await context.newCDPSession(page);
        await page.goto(`${server!.url}/?tab=${tab}`, { waitUntil: "load" });
        return { tab, page, cdp };
      }),
    );
    // A client of the bench's own counts the samples the tabs were sent.
    const [counter] = await openSseClients({ url: `${server.url}/api/stream`, count: 1 });
    await sleep(WARM_UP_MS);
    const start = await Promise.all(tabs.map(({ cdp }) => heapUsed(cdp)));
    const eventsAtStart = counter.events;
    await sleep(HEAP_MINUTES * 60_000);
    const end = await Promise.all(tabs.map(({ cdp }) => heapUsed(cdp)));
    const events = counter.events - eventsAtStart;
    counter.close();

    line(`JS heap over ${HEAP_MINUTES} min of live updates`, `after ${WARM_UP_MS / 60_000} min of warm-up; ${events} stream events (${(events / (HEAP_MINUTES * 60)).toFixed(2)}/s)`);
    for (const [i, { tab, page }] of tabs.entries()) {
      line(`  ${tab} tab: start, end`, `${mb(start[i])}, ${mb(end[i])} (${pct(end[i], start[i])})`);
      // The figure means something only if the tab was still live at the end.
      expect(await page.getByText("live", { exact: true }).first().isVisible(), `${tab}: live at the end`).toBe(true);
    }
    expect(counter.error).toBeNull();
  } finally {
    await browser?.close();
    if (server) await stopServer(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});

const SCALE_MODELS = 1000;
// Loss and throughput points in each model's run log.
const SCALE_POINTS = Number(process.env.AFS_BENCH_SCALE_POINTS ?? 1000);
const LIVE_SECONDS = 30;

// Long tasks (over 50 ms) of the page, kept from the start on window.__longTasks.
function watchLongTasks() {
  const tasks: number[] = [];
  (window as unknown as { __longTasks: number[] }).__longTasks = tasks;
  new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) tasks.push(entry.duration);
  }).observe({ type: "longtask", buffered: true });
}

test(`page: ${SCALE_MODELS} models: load time, DOM size, long tasks while live`, { timeout: 15 * 60_000 }, async () => {
  console.log(`\nPage with ${SCALE_MODELS} models, ${SCALE_POINTS} loss points each (${machine()})`);
  if (!fs.existsSync(path.join(root, ".next", "standalone", "server.js"))) execFileSync("npm", ["run", "build"], { cwd: root, stdio: "inherit" });

  const dataDir = writeScaleData({ models: SCALE_MODELS, points: SCALE_POINTS });
  // The bundled capture at its recorded 2 samples/s: GPU events arrive twice a second.
  const capture = path.join(dataDir, "gpu.csv");
  fs.copyFileSync(path.join(root, "data", "gpu", "stream_500ms.csv"), capture);
  let server: RunningServer | undefined;
  let browser: Browser | undefined;
  try {
    server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: `replay:${capture}` } });
    browser = await chromium.launch({ executablePath: chromiumPath(), args: LAUNCH_ARGS });
    const context = await browser.newContext();
    await context.addInitScript(watchLongTasks);
    const page = await context.newPage();
    // Before the page sent only what its first view shows, a cold load took more than 30 s here.
    page.setDefaultTimeout(180_000);
    const rows = page.locator('[data-testid^="model-row-"]');

    // Cold: the server's first render after start, while its first scan reads the data dir;
    // warm: the same page again once that scan is done.
    for (const label of ["cold server", "warm server"]) {
      if (label === "warm server") {
        while ((await (await fetch(`${server.url}/api/health`)).json()).scan.state !== "ready") await sleep(200);
      }
      const ms = await timeMs(async () => {
        await page.goto(server!.url, { waitUntil: "load" });
        await rows.first().waitFor();
      });
      const nav = await page.evaluate(() => {
        const n = performance.getEntriesByType("navigation")[0] as PerformanceNavigationTiming;
        return { firstByte: n.responseStart - n.startTime, html: n.decodedBodySize };
      });
      line(`load of / until the first row shows, ${label}`, `${(ms / 1000).toFixed(2)} s (first byte at ${(nav.firstByte / 1000).toFixed(2)} s, HTML ${kb(nav.html)})`);
    }
    const elements = await page.evaluate(() => document.getElementsByTagName("*").length);
    line("DOM elements on the overview", `${elements} (${await rows.count()} model rows rendered)`);

    // Live: GPU events twice a second, and a status for one model every 500 ms.
    await page.waitForTimeout(5000);
    await page.evaluate(() => ((window as unknown as { __longTasks: number[] }).__longTasks.length = 0));
    const start = Date.now();
    let posted = 0;
    while (Date.now() - start < LIVE_SECONDS * 1000) {
      const res = await fetch(`${server.url}/api/update-status`, {
        method: "POST",
        headers: { authorization: `Bearer ${E2E_TOKEN}`, "content-type": "application/json" },
        body: JSON.stringify({ model_key: scaleKey(posted % 20), status: "running", progress: posted % 100 }),
      });
      expect(res.status).toBe(200);
      posted++;
      await sleep(500);
    }
    const elapsed = Date.now() - start;
    const tasks = await page.evaluate(() => (window as unknown as { __longTasks: number[] }).__longTasks);
    const total = tasks.reduce((a, b) => a + b, 0);
    const longest = tasks.reduce((a, b) => Math.max(a, b), 0);
    line(`long tasks over ${LIVE_SECONDS} s live`, `${posted} statuses, GPU at 2/s: ${tasks.length} tasks, longest ${longest.toFixed(0)} ms, ${((total / elapsed) * 100).toFixed(1)}% of the main thread`);
    await context.close();
  } finally {
    await browser?.close();
    if (server) await stopServer(server);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
});
