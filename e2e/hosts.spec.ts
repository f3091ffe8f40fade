import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import type { Host } from "../lib/schemas/api";
import { freePort, startSshd, type TestSshd } from "../tests/support/sshd";
import { collectConsoleErrors, countPixels, seriousViolations, SERIES_COLOURS } from "./support/dashboard";
import { copyDemoData } from "./support/env";
import { startServer, stopServer, type RunningServer } from "./support/server";

// Remote hosts on the dashboard, against a server of its own: "box-a" is a real OpenSSH sshd on a
// loopback port whose nvidia-smi replays the H100 capture, "box-b" a closed port. This machine
// replays the same capture, so it is a host with a GPU too.

const root = path.join(__dirname, "..");
let sshd: TestSshd;
let server: RunningServer;
let temp: string;
let dataDir: string;

test.beforeAll(async () => {
  test.setTimeout(60_000);
  sshd = await startSshd();
  temp = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-hosts-"));
  const key = path.join(temp, "id_ed25519");
  fs.writeFileSync(key, sshd.clientKey, { mode: 0o600 });
  const knownHosts = path.join(temp, "known_hosts");
  fs.writeFileSync(knownHosts, `${sshd.knownHostsLine()}\n`);
  const runs = path.join(temp, "runs");
  fs.mkdirSync(runs);

  dataDir = copyDemoData();
  const configFile = path.join(dataDir, "afs.config.json");
  const config = JSON.parse(fs.readFileSync(configFile, "utf8"));
  config.hosts = [
    {
      name: "box-a",
      ssh: `${sshd.user}@127.0.0.1:${sshd.port}`,
      nvidia_smi: path.join(root, "scripts", "fake-nvidia-smi.mjs"),
      runs,
      cost_per_hour: 1.1,
    },
    // Nothing listens here: the port was free a moment ago and is not handed to anyone.
    { name: "box-b", ssh: `${sshd.user}@127.0.0.1:${await freePort()}` },
  ];
  config.models.push({ key: "falcon-a1", name: "Falcon A1", status: "running", progress: 10, cost_per_hour: 1.1, host: "box-a" });
  fs.writeFileSync(configFile, JSON.stringify(config, null, 2));

  server = await startServer({
    dataDir,
    env: {
      AFS_GPU_SOURCE: `replay:${path.join(dataDir, "gpu", "stream_500ms.csv")}`,
      AFS_SSH_KEY: key,
      AFS_SSH_KNOWN_HOSTS: knownHosts,
    },
  });
});

test.afterAll(async () => {
  if (server) await stopServer(server);
  if (sshd) await sshd.stop();
  for (const dir of [temp, dataDir, sshd?.dir]) if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function hostOf(page: Page, name: string): Promise<Host> {
  const res = await page.request.get(`${server.url}/api/hosts/${name}`);
  expect(res.ok(), `/api/hosts/${name}`).toBe(true);
  return res.json();
}

// A page that has opened the live stream holds a connection the server's shutdown waits for.
test.afterEach(async ({ page }) => {
  await page.goto("about:blank");
});

test("each host's card: state, reason, GPUs from the capture, processes, models, price and last seen", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  // Online first, then its GPUs' readings, then (queried every few seconds) their processes.
  await expect.poll(async () => (await hostOf(page, "box-a")).gpus[0]?.processes.length ?? 0, { timeout: 30_000 }).toBeGreaterThan(0);
  await expect.poll(async () => (await hostOf(page, "box-b")).state, { timeout: 30_000 }).toBe("unreachable");

  await page.goto(`${server.url}/?tab=hosts`);
  const cards = page.getByTestId("host-grid").locator('[data-testid^="host-card-"]');
  await expect(cards).toHaveCount(3);
  // This machine first.
  await expect(cards.first()).toHaveAttribute("data-testid", "host-card-local");
  await expect(page.getByTestId("host-card-local").getByTestId("host-replay")).toHaveText("replay");

  const a = page.getByTestId("host-card-box-a");
  await expect(a.getByRole("heading", { name: "box-a" })).toBeVisible();
  await expect(a.getByTestId("host-state")).toHaveAttribute("data-state", "online");
  await expect(a.getByTestId("host-state")).toHaveText("Online");
  await expect(a.getByTestId("host-replay")).toHaveCount(0);
  // The capture's card: an H100 with 81,559 MiB and a 700 W limit, python3 (pid 469) holding 6,274 MiB.
  await expect(a.getByTestId("host-gpu-models")).toHaveText("1 × NVIDIA H100 80GB HBM3");
  const gpu = a.getByTestId("host-gpu-0");
  await expect(gpu).toContainText("/ 79.6");
  await expect(gpu).toContainText("/ 700");
  await expect(gpu).toContainText(/\d+ °C/);
  await expect(gpu).toContainText(/\d+(\.\d)?%/);
  const processes = a.getByTestId("host-processes");
  await expect(processes).toContainText("python3");
  await expect(processes).toContainText("469");
  await expect(processes).toContainText("6.1");
  await expect(a.getByTestId("host-model-falcon-a1")).toContainText("Falcon A1");
  await expect(a.getByTestId("host-cost")).toHaveText("$1.10/h");
  const seen = a.getByTestId("host-last-seen").locator("time");
  await expect(seen).toHaveText(/^\d+ s ago$/);
  const iso = await seen.getAttribute("datetime");
  expect(Date.parse(iso!)).toBeGreaterThan(Date.now() - 60_000);
  await expect(seen).toHaveAttribute("title", iso!);

  // Live: the replay moves on, and the card follows without a reload.
  const utilization = async () => (await gpu.locator("td").first().textContent())!;
  const first = await utilization();
  const seenBefore = iso;
  await expect.poll(async () => (await seen.getAttribute("datetime")) !== seenBefore || (await utilization()) !== first, { timeout: 15_000 }).toBe(true);

  const b = page.getByTestId("host-card-box-b");
  await expect(b.getByTestId("host-state")).toHaveAttribute("data-state", "unreachable");
  await expect(b.getByTestId("host-state")).toHaveText("Unreachable");
  // The reason is on the page as text, not only in a tooltip.
  const reason = (await hostOf(page, "box-b")).reason;
  expect(reason).toBeTruthy();
  await expect(b.getByTestId("host-reason")).toBeVisible();
  await expect(b.getByTestId("host-reason")).not.toBeEmpty();
  await expect(b.getByTestId("host-cost")).toHaveText("—");
  await expect(b.getByTestId("host-gpus")).toHaveCount(0);

  // The overview counts both GPU hosts that answer, of all three.
  await page.getByRole("tab", { name: "Overview", exact: true }).click();
  await expect(page.getByTestId("stat-hosts-online-value")).toHaveAttribute("data-value", "2");
  await expect(page.getByTestId("stat-hosts-online")).toContainText("of 3 hosts");
  const busy = Number(await page.getByTestId("stat-gpus-busy-value").getAttribute("data-value"));
  const idle = Number(/(\d+) idle/.exec((await page.getByTestId("stat-gpus-busy").textContent())!)![1]);
  expect(busy + idle).toBe(2);
  expect(errors).toEqual([]);
});

test("the Metrics host picker switches the GPU chart to box-a, kept in the URL", async ({ page }) => {
  await expect.poll(async () => (await hostOf(page, "box-a")).state, { timeout: 30_000 }).toBe("online");
  // box-a's history needs a few samples before there is a line to draw.
  await expect
    .poll(async () => (await (await page.request.get(`${server.url}/api/metrics/gpu-utilization?range=1h&host=box-a`)).json()).metrics.length, { timeout: 30_000 })
    .toBeGreaterThan(1);

  await page.goto(`${server.url}/?tab=metrics`);
  const picker = page.getByRole("combobox", { name: "Host" });
  await expect(picker).toHaveValue("local");
  await expect(picker.locator("option")).toHaveText(["local", "box-a", "box-b"]);
  const request = page.waitForRequest((r) => r.url().endsWith("/api/metrics/gpu-utilization?range=1h&host=box-a"));
  await picker.selectOption("box-a");
  await request;
  await expect(page).toHaveURL(/[?&]host=box-a(&|$)/);
  const chart = page.getByTestId("gpu-chart");
  await expect(chart).toHaveAttribute("aria-label", /on box-a/);
  await expect.poll(() => countPixels(chart, SERIES_COLOURS)).toBeGreaterThan(20);
  // box-a reads a real nvidia-smi over SSH, not a replay on this machine.
  await expect(page.getByTestId("gpu-source")).toHaveCount(0);

  await page.reload();
  await expect(picker).toHaveValue("box-a");
  await picker.selectOption("local");
  await expect(page).not.toHaveURL(/host=/);
  await expect(page.getByTestId("gpu-source")).toHaveText("replay");
});

test("hosts, overview and metrics are accessible in both themes", async ({ page, context }) => {
  await expect.poll(async () => (await hostOf(page, "box-b")).state, { timeout: 30_000 }).toBe("unreachable");
  for (const theme of ["dark", "light"] as const) {
    await context.addCookies([{ name: "afs-theme", value: theme, url: server.url }]);
    for (const tab of ["hosts", "overview", "metrics"]) {
      await page.goto(`${server.url}/?tab=${tab}`);
      await expect(page.locator("html")).toHaveAttribute("data-theme", theme);
      await expect(page.getByTestId(`panel-${tab}`)).toBeVisible();
      if (tab === "hosts") await expect(page.getByTestId("host-card-box-b").getByTestId("host-reason")).toBeVisible();
      if (tab === "metrics") await expect(page.getByRole("combobox", { name: "Host" })).toBeVisible();
      expect(await seriousViolations(page), `${tab} (${theme})`).toEqual([]);
    }
  }
});
