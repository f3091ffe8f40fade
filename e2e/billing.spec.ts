import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { formatDateTime } from "../components/format";
import type { BillingInstancesResponse, CostBreakdownResponse, HostsResponse, TrainingLossResponse } from "../lib/schemas/api";
import { startFakeVastai, vastInstanceRow, type FakeVastai } from "../tests/support/fake-vastai";
import { collectConsoleErrors, seriousViolations } from "./support/dashboard";
import { startServer, stopServer, type RunningServer } from "./support/server";

// vast.ai billing on the dashboard: the production server polls the fake vast.ai every second,
// where one running instance (8 GPUs at $36/h) carries the label of a model whose run writes
// timed loss rows while the test watches, so its points gather GPU hours and spend.

const KEY = "falcon-7b";
const INSTANCE = 31_337;
const BUDGET = 100;
const DPH = 36;

let dir: string;
let run: string;
let vast: FakeVastai;
let server: RunningServer;
let step = 0;

// One JSONL row per step, timed now, as a trainer logging as it goes.
function appendSteps(count: number) {
  const rows = Array.from({ length: count }, () => {
    step += 100;
    return `${JSON.stringify({ step, loss: 3 - step / 2000, time: Date.now() / 1000 })}\n`;
  });
  fs.appendFileSync(path.join(run, "train.jsonl"), rows.join(""));
}

const get = async <T>(pathname: string): Promise<T> => {
  const res = await fetch(`${server.url}${pathname}`);
  expect(res.ok, pathname).toBe(true);
  return (await res.json()) as T;
};

// A page that has opened the live stream holds a connection the server's shutdown waits for.
test.afterEach(async ({ page }) => {
  await page.goto("about:blank");
});

test.describe("a vast.ai instance", () => {
  test.beforeAll(async () => {
    test.setTimeout(90_000);
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-billing-"));
    run = path.join(dir, "runs", KEY);
    fs.mkdirSync(run, { recursive: true });
    const config = {
      session: { name: "Billed", budget_usd: BUDGET },
      models: [{ key: KEY, name: "Falcon 7B", status: "running", progress: 10 }],
    };
    fs.writeFileSync(path.join(dir, "afs.config.json"), JSON.stringify(config, null, 2));
    appendSteps(2);

    vast = await startFakeVastai();
    vast.setInstances([vastInstanceRow({ id: INSTANCE, gpu: "H100_SXM", overrides: { label: KEY, num_gpus: 8, dph_total: DPH } })]);
    server = await startServer({
      dataDir: dir,
      env: { AFS_VASTAI_API_KEY: vast.apiKey, AFS_VASTAI_URL: vast.url, AFS_VASTAI_INTERVAL_SECONDS: "1", AFS_VASTAI_SSH: "0", AFS_GPU_SOURCE: "off" },
    });

    // The run goes on while the instance is billed: a row a second, each later and dearer.
    for (let i = 0; i < 8; i++) {
      await new Promise((r) => setTimeout(r, 1000));
      appendSteps(1);
    }
    await expect
      .poll(async () => new Set((await get<TrainingLossResponse>(`/api/metrics/training-loss?model=${KEY}`)).metrics.map((m) => m.cost_usd).filter((c) => c !== null)).size, {
        timeout: 20_000,
        message: "loss points with different spends",
      })
      .toBeGreaterThan(2);
  });

  test.afterAll(async () => {
    if (server) await stopServer(server);
    if (vast) await vast.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  test("the overview shows the burn rate and when the budget runs out at it", async ({ page }) => {
    const errors = collectConsoleErrors(page);
    const costs = await get<CostBreakdownResponse>("/api/costs/breakdown");
    expect(costs.burn_rate_usd_per_hour).toBe(DPH);
    expect(costs.budget.usd).toBe(BUDGET);
    expect(costs.idle.gpus).toBe(0);

    await page.goto(server.url);
    await expect(page.getByTestId("stat-burn-rate-value")).toHaveText("$36.00/h");
    await expect(page.getByTestId("stat-burn-rate-value")).toHaveAttribute("data-value", String(DPH));
    await expect(page.getByTestId("idle-gpus")).toHaveCount(0);

    // What is left of $100 at $36/h: under 2 h 47 min from now, and (a minute of spend at most) over 2 h 40 min.
    const runsOut = page.getByTestId("stat-budget-runs-out-value");
    await expect(runsOut).toHaveAttribute("data-value", /^\d{4}-/);
    const at = Date.parse((await runsOut.getAttribute("data-value"))!);
    expect(at - Date.now()).toBeLessThan((BUDGET / DPH) * 3_600_000);
    expect(at - Date.now()).toBeGreaterThan(((BUDGET - 4) / DPH) * 3_600_000);
    // In the browser's zone, which is this process's.
    await expect(runsOut.locator("time")).toHaveText(formatDateTime(new Date(at).toISOString()));
    await expect(page.getByTestId("stat-budget-runs-out")).toContainText("left at $36.00/h");
    expect(errors).toEqual([]);
  });

  test("the costs tab lists the instance with its rate, its accrual and its model", async ({ page }) => {
    const billing = await get<BillingInstancesResponse>("/api/billing/instances");
    expect(billing).toMatchObject({ state: "ok", stale: false, instances: [{ id: INSTANCE, label: KEY, dph_total: DPH, models: [KEY] }] });

    await page.goto(`${server.url}/?tab=costs`);
    await expect(page.getByTestId("burn-rate")).toHaveText("$36.00/h");
    const row = page.getByTestId(`vast-instance-${INSTANCE}`);
    await expect(row).toContainText(KEY);
    await expect(row).toContainText("running");
    await expect(row).toContainText("$36.00/h");
    await expect(row).toContainText("8 × H100_SXM");
    await expect(page.getByTestId("vast-stale")).toHaveCount(0);
    await expect(page.getByTestId("budget-runs-out")).toContainText("Runs out");
    expect(await seriousViolations(page)).toEqual([]);
  });

  test("the loss chart's x axis switches to spend and to GPU hours, kept in the URL", async ({ page }) => {
    const points = (await get<TrainingLossResponse>(`/api/metrics/training-loss?model=${KEY}`)).metrics;
    const most = (pick: (p: TrainingLossResponse["metrics"][number]) => number | null) => Math.max(...points.map(pick).filter((x): x is number => x !== null));

    await page.goto(`${server.url}/?tab=metrics&model=${KEY}`);
    const chart = page.getByTestId("loss-chart");
    const ticks = async () => ((await chart.getAttribute("data-x-ticks")) ?? "").split(" | ").map((t) => t.replace(/[$,]/g, ""));
    await expect(chart).toHaveAttribute("data-x-axis", "step");
    await expect(chart).toHaveAttribute("aria-label", /by Step$/);
    await expect.poll(async () => Math.max(...(await ticks()).map(Number))).toBeGreaterThanOrEqual(step);

    const picker = page.getByTestId("loss-x-axis");
    await picker.getByText("Spend").click();
    await expect(page).toHaveURL(/[?&]loss_x=cost(&|$)/);
    await expect(chart).toHaveAttribute("data-x-axis", "cost");
    await expect(chart).toHaveAttribute("aria-label", /by Spend$/);
    // Dollar ticks up to the run's spend so far (cents at $36/h over seconds), not the steps.
    await expect(chart).toHaveAttribute("data-x-ticks", /^\$\d+\.\d\d( \| \$\d+\.\d\d)+$/);
    expect(Math.max(...(await ticks()).map(Number))).toBeLessThanOrEqual(Math.ceil(most((p) => p.cost_usd) * 10) / 10 + 0.1);

    await picker.getByText("GPU hours").click();
    await expect(page).toHaveURL(/[?&]loss_x=gpu_hours(&|$)/);
    await expect(chart).toHaveAttribute("data-x-axis", "gpu_hours");
    await expect(chart).toHaveAttribute("aria-label", /by GPU hours$/);
    await expect(chart).not.toHaveAttribute("data-x-ticks", /\$/);
    // 8 GPUs for seconds: hundredths of a GPU hour, far below any step.
    const hours = (await ticks()).map(Number);
    expect(hours.every((h) => Number.isFinite(h) && h >= 0)).toBe(true);
    expect(Math.max(...hours)).toBeLessThan(1);
    expect(most((p) => p.gpu_hours)).toBeGreaterThan(0);

    await page.reload();
    await expect(chart).toHaveAttribute("data-x-axis", "gpu_hours");
    await picker.getByText("Step").click();
    await expect(page).not.toHaveURL(/loss_x=/);
    await expect(chart).toHaveAttribute("data-x-axis", "step");
  });

  // Last: vast.ai refuses the key from now on.
  test("a refused key is said plainly, over the last known list", async ({ page }) => {
    vast.queueAnswers(...Array.from({ length: 5 }, () => ({ kind: "status" as const, status: 401 })));
    await expect.poll(async () => (await get<BillingInstancesResponse>("/api/billing/instances")).state, { timeout: 15_000 }).toBe("auth_failed");
    const billing = await get<BillingInstancesResponse>("/api/billing/instances");
    expect(billing.stale).toBe(true);

    await page.goto(`${server.url}/?tab=costs`);
    await expect(page.getByTestId("vast-auth-failed")).toHaveText(`vast.ai refuses the API key (AFS_VASTAI_API_KEY): ${billing.reason}`);
    await expect(page.getByTestId("vast-stale")).toContainText("The list is the last known one, polled");
    await expect(page.getByTestId(`vast-instance-${INSTANCE}`)).toContainText(KEY);
    expect(await seriousViolations(page)).toEqual([]);
  });
});

test.describe("a GPU billed while idle", () => {
  let idleDir: string;
  let idleServer: RunningServer;

  // This machine replays the H100 capture (never above 98%) with every reading under 100% called
  // idle after 3 s; a model running here at $2.50/h is what it is billed.
  test.beforeAll(async () => {
    idleDir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-idle-"));
    const capture = path.join(idleDir, "stream_500ms.csv");
    fs.copyFileSync(path.join(__dirname, "..", "data", "gpu", "stream_500ms.csv"), capture);
    const config = { session: { name: "Idle" }, models: [{ key: "local-run", name: "Local run", status: "running", progress: 20, cost_per_hour: 2.5 }] };
    fs.writeFileSync(path.join(idleDir, "afs.config.json"), JSON.stringify(config));
    idleServer = await startServer({ dataDir: idleDir, env: { AFS_GPU_SOURCE: `replay:${capture}`, AFS_IDLE_UTIL_PERCENT: "100", AFS_IDLE_MINUTES: "0.05" } });
  });

  test.afterAll(async () => {
    if (idleServer) await stopServer(idleServer);
    if (idleDir) fs.rmSync(idleDir, { recursive: true, force: true });
  });

  test("is counted on the overview and flagged on its host's card", async ({ page }) => {
    const hosts = async () => (await (await fetch(`${idleServer.url}/api/hosts`)).json()) as HostsResponse;
    await expect.poll(async () => (await hosts()).hosts[0].idle_gpus.length, { timeout: 20_000 }).toBe(1);
    const [idle] = (await hosts()).hosts[0].idle_gpus;
    expect(idle).toMatchObject({ index: 0, usd_per_hour: 2.5 });

    await page.goto(idleServer.url);
    await expect(page.getByTestId("idle-gpus")).toHaveText("1 idle GPU billed at $2.50/h");
    await expect(page.getByTestId("stat-burn-rate-value")).toHaveText("$2.50/h");
    await expect(page.getByTestId("stat-budget-runs-out-value")).toHaveText("No budget");

    await page.getByRole("tab", { name: "Hosts", exact: true }).click();
    const flag = page.getByTestId("host-card-local").getByTestId("host-gpu-0").getByTestId("idle-gpu");
    await expect(flag).toHaveText(`idle since ${formatDateTime(idle.since)}, billed $2.50/h`);
  });
});
