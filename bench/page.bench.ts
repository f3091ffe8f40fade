import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import zlib from "node:zlib";
import { chromium, type Browser, type BrowserContext, type CDPSession } from "@playwright/test";
import { expect, test } from "vitest";
import { chromiumPath, copyDemoData } from "../e2e/support/env";
import { startServer, stopServer, type RunningServer } from "../e2e/support/server";
import { line, machine, timeMs } from "./report";
import { openSseClients } from "./support/load";

// AFS_BENCH_HEAP_MINUTES=1 for a quick try; the figures are read over 10.
const HEAP_MINUTES = Number(process.env.AFS_BENCH_HEAP_MINUTES ?? 10);
const WARM_UP_MS = 60_000;
const LIVE_TABS = ["overview", "metrics"] as const;

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
    browser = await chromium.launch({
      executablePath: chromiumPath(),
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });

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
