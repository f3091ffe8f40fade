import fs from "node:fs";
import path from "node:path";
import { expect, test, type Page } from "@playwright/test";
import { formatMoney } from "../components/format";
import type { ModelStatus, ModelsStatusResponse } from "../lib/schemas/api";
import { collectConsoleErrors } from "./support/dashboard";
import { E2E_TOKEN } from "./support/env";
import { scaleKey, scaleName, writeScaleData } from "./support/scale";
import { startServer, stopServer, type RunningServer } from "./support/server";

// The page with 1,000 models, on a server of its own: the overview renders a window of rows, the
// filter narrows them, and a posted status reaches its row over the live stream alone (polling
// is set to an hour, so nothing else could bring it within the test).

const MODELS = 1000;
const MAX_ROWS = 100;

let server: RunningServer;
let dataDir: string;

test.describe.configure({ timeout: 120_000 });

test.beforeAll(async () => {
  test.setTimeout(180_000);
  dataDir = writeScaleData({ models: MODELS, points: 20 });
  const capture = path.join(dataDir, "gpu.csv");
  fs.copyFileSync(path.join(__dirname, "..", "data", "gpu", "stream_500ms.csv"), capture);
  server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: `replay:${capture}`, AFS_REFRESH_SECONDS: "3600" } });
  // The page shows a first scan as it goes; these tests compare it with the finished one.
  await expect
    .poll(async () => (await (await fetch(`${server.url}/api/health`)).json()).scan.state, { timeout: 120_000 })
    .toBe("ready");
});

test.afterAll(async () => {
  if (server) await stopServer(server);
  fs.rmSync(dataDir, { recursive: true, force: true });
});

const rows = (page: Page) => page.locator('[data-testid^="model-row-"]');
const row = (page: Page, key: string) => page.getByTestId(`model-row-${key}`);

async function modelStatus(page: Page, key: string): Promise<ModelStatus> {
  const body: ModelsStatusResponse = await (await page.request.get(`${server.url}/api/models/status`)).json();
  return body.models.find((m) => m.key === key)!;
}

// A row shows the API's name, status, progress and cost of its model.
async function expectRowShows(page: Page, m: ModelStatus) {
  const r = row(page, m.key);
  await expect(r.getByRole("rowheader")).toContainText(m.name);
  await expect(r.locator(`[data-status="${m.status}"]`).first()).toBeAttached();
  await expect(r.getByRole("progressbar")).toHaveAttribute("aria-valuenow", String(m.progress));
  await expect(r).toContainText(formatMoney(m.total_cost, "USD"));
}

test("the overview renders a bounded window of 1,000 models; scrolling brings later ones in", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  await page.goto(server.url);
  await expect(page.getByTestId("model-count")).toHaveText(`${MODELS} models`);
  await expect(page.getByTestId("model-table")).toHaveAttribute("aria-rowcount", String(MODELS + 1));
  await expect(row(page, scaleKey(0))).toBeVisible();
  const shown = await rows(page).count();
  expect(shown).toBeGreaterThan(5);
  expect(shown).toBeLessThanOrEqual(MAX_ROWS);
  await expectRowShows(page, await modelStatus(page, scaleKey(0)));
  // Cards, header and footer included, the page stays a few thousand elements.
  expect(await page.evaluate(() => document.getElementsByTagName("*").length)).toBeLessThan(3000);
  // The running models' runs stopped writing days ago: a few stalled notices, the rest counted.
  const all: ModelsStatusResponse = await (await page.request.get(`${server.url}/api/models/status`)).json();
  const stalled = all.models.filter((m) => m.stalled_since !== null).length;
  expect(stalled).toBeGreaterThan(5);
  await expect(page.getByTestId("notice-banner").getByRole("button", { name: /dismiss/i })).toHaveCount(5);
  await expect(page.getByTestId("notice-more")).toHaveText(`and ${stalled - 5} more`);
  // So does the estimate card's list of running models it could not estimate.
  expect(await page.getByTestId("estimate-missing").locator("li").count()).toBeLessThanOrEqual(6);

  const box = page.getByTestId("model-table").locator("..");
  await box.evaluate((el) => el.scrollTo({ top: el.scrollHeight }));
  await expect(row(page, scaleKey(MODELS - 1))).toBeVisible();
  await expect(row(page, scaleKey(0))).toHaveCount(0);
  await expect(row(page, scaleKey(MODELS - 1))).toHaveAttribute("aria-rowindex", String(MODELS + 1));
  expect(await rows(page).count()).toBeLessThanOrEqual(MAX_ROWS);
  await expectRowShows(page, await modelStatus(page, scaleKey(MODELS - 1)));

  // Halfway down shows the models of the middle.
  await box.evaluate((el) => el.scrollTo({ top: el.scrollHeight / 2 }));
  await expect(row(page, scaleKey(MODELS / 2))).toBeAttached();
  expect(await rows(page).count()).toBeLessThanOrEqual(MAX_ROWS);
  expect(errors).toEqual([]);
});

test("the filter narrows the list by name, key or status, and survives a reload", async ({ page }) => {
  await page.goto(server.url);
  const filter = page.getByRole("searchbox", { name: /filter models/i });
  await filter.fill("model-0777");
  await expect(rows(page)).toHaveCount(1);
  await expect(page.getByTestId("model-count")).toHaveText(`1 of ${MODELS} models`);
  await expectRowShows(page, await modelStatus(page, "model-0777"));
  await expect(page).toHaveURL(/[?&]q=model-0777(&|$)/);

  await page.reload();
  await expect(filter).toHaveValue("model-0777");
  await expect(rows(page)).toHaveCount(1);
  await expect(row(page, "model-0777")).toBeVisible();

  // By name, any case: Model 0770 … Model 0779.
  await filter.fill("MODEL 077");
  await expect(rows(page)).toHaveCount(10);
  await expect(row(page, "model-0770")).toBeVisible();

  // By status: as many as the API counts, and every row shown has it.
  const all: ModelsStatusResponse = await (await page.request.get(`${server.url}/api/models/status`)).json();
  const failed = all.models.filter((m) => m.status === "failed").length;
  expect(failed).toBeGreaterThan(MAX_ROWS);
  await filter.fill("failed");
  await expect(page.getByTestId("model-count")).toHaveText(`${failed} of ${MODELS} models`);
  const visible = await rows(page).count();
  expect(visible).toBeLessThanOrEqual(MAX_ROWS);
  await expect(page.getByTestId("model-table").locator('tbody [data-status="failed"]:visible')).toHaveCount(visible);

  await filter.fill("no such model");
  await expect(rows(page)).toHaveCount(0);
  await expect(page.getByTestId("model-filter-empty")).toBeVisible();
  await filter.fill("");
  await expect(page.getByTestId("model-count")).toHaveText(`${MODELS} models`);
  await expect(page).not.toHaveURL(/[?&]q=/);
});

test("a posted status reaches its model's row live, without a reload", async ({ page }) => {
  const key = scaleKey(500);
  await page.goto(`${server.url}/?q=${key}`);
  await expect(row(page, key)).toContainText(scaleName(500));
  // The GPU card says live once the stream is open.
  await expect(page.getByTestId("stat-gpu-utilization").getByText("live", { exact: true })).toBeVisible();
  let navigations = 0;
  page.on("framenavigated", (frame) => {
    if (frame === page.mainFrame()) navigations++;
  });

  for (const [status, progress] of [["failed", 42.5], ["running", 87]] as const) {
    const res = await page.request.post(`${server.url}/api/update-status`, {
      data: { model_key: key, status, progress },
      headers: { authorization: `Bearer ${E2E_TOKEN}` },
    });
    expect(res.status()).toBe(200);
    await expect(row(page, key).getByRole("progressbar")).toHaveAttribute("aria-valuenow", String(progress));
    await expect(row(page, key).locator(`[data-status="${status}"]`).first()).toBeAttached();
    await expectRowShows(page, await modelStatus(page, key));
  }
  expect(navigations).toBe(0);
});

test("costs, registry, models and metrics stay bounded with 1,000 models", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  await page.goto(`${server.url}/?tab=costs`);
  // Five costliest slices and one for the rest.
  await expect(page.getByTestId("cost-chart")).toHaveAttribute("aria-label", /Other models \(995\) \$[\d,.]+$/);
  await expect(page.locator('[data-testid^="cost-row-"]')).toHaveCount(50);
  await page.getByTestId("cost-table-more").click();
  await expect(page.locator('[data-testid^="cost-row-"]')).toHaveCount(100);
  await expect(page.getByTestId("cost-total")).toHaveText(formatMoney((await (await page.request.get(`${server.url}/api/costs/breakdown`)).json()).total_cost, "USD"));

  await page.goto(`${server.url}/?tab=registry`);
  await expect(page.locator('[data-testid="registry"] > li')).toHaveCount(50);
  await expect(page.getByTestId("registry-more")).toContainText("950 not shown");

  await page.goto(`${server.url}/?tab=models`);
  await expect(page.locator('[data-testid^="model-card-"]')).toHaveCount(50);

  // One model's curves, picked from a list of all of them.
  await page.goto(`${server.url}/?tab=metrics&model=model-0003`);
  await expect(page.getByTestId("loss-model").locator("option")).toHaveCount(MODELS);
  await expect(page.getByTestId("loss-model")).toHaveValue("model-0003");
  await expect(page.getByTestId("loss-card").locator("canvas")).toBeVisible();
  await page.getByTestId("loss-model").selectOption("model-0900");
  await expect(page.getByTestId("throughput-card")).toContainText("Model 0900");
  await expect(page.getByTestId("loss-card").locator("canvas")).toBeVisible();
  expect(errors).toEqual([]);
});
