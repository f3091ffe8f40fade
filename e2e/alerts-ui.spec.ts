import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import os from "node:os";
import path from "node:path";
import { expect, test, type Page, type TestInfo } from "@playwright/test";
import type { AlertsResponse } from "../lib/schemas/api";
import { collectConsoleErrors, noHorizontalScroll, seriousViolations } from "./support/dashboard";
import { copyDemoData, E2E_TOKEN } from "./support/env";
import { startServer, stopServer, type RunningServer } from "./support/server";

// The alerts on the dashboard (the header's bell, its panel, a phone's overview) and what a phone
// needs to install the dashboard: the manifest, its icons and the theme colours.

const KEY = "veran-v5";
const WIDTHS = [390, 1440] as const;
const THEMES = ["dark", "light"] as const;

// Opens the panel from the keyboard, checks it is accessible, and closes it with Escape.
async function openAndCloseFromKeyboard(page: Page, name: string) {
  const bell = page.getByTestId("alerts-bell");
  await bell.focus();
  await page.keyboard.press("Enter");
  const panel = page.getByRole("dialog", { name: "Alerts" });
  await expect(panel).toBeVisible();
  await expect(panel.getByRole("button", { name: "Close" })).toBeFocused();
  expect(await seriousViolations(page), name).toEqual([]);
  await page.keyboard.press("Escape");
  await expect(panel).toBeHidden();
  await expect(bell).toBeFocused();
}

async function screenshot(page: Page, name: string, testInfo: TestInfo) {
  const file = testInfo.outputPath(`${name}.png`);
  await page.screenshot({ path: file });
  await testInfo.attach(name, { path: file, contentType: "image/png" });
}

test.describe("a failed run fires an alert", () => {
  let dir: string;
  let server: RunningServer;
  let receiver: http.Server;
  const received: string[] = [];

  test.beforeAll(async () => {
    test.setTimeout(90_000);
    // The webhook's receiver, on loopback (allowed through the outgoing-URL guard by AFS_ALERT_ALLOW_HOSTS).
    receiver = http.createServer((req, res) => {
      let body = "";
      req.on("data", (d) => (body += d));
      req.on("end", () => {
        received.push(body);
        res.writeHead(200).end("ok");
      });
    });
    await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
    const { port } = receiver.address() as AddressInfo;

    dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-alerts-"));
    const config = {
      session: { name: "Alerted" },
      models: [
        { key: KEY, name: "Veran v5", status: "running", progress: 40 },
        { key: "falcon-7b", name: "Falcon 7B", status: "running", progress: 10 },
      ],
      alerts: {
        channels: [{ name: "hook", type: "webhook", url_env: "AFS_ALERT_WEBHOOK_URL" }],
        rules: [{ name: "run failed", when: "model_failed", channels: ["hook"] }],
      },
    };
    fs.writeFileSync(path.join(dir, "afs.config.json"), JSON.stringify(config, null, 2));
    server = await startServer({
      dataDir: dir,
      env: { AFS_GPU_SOURCE: "off", AFS_ALERT_ALLOW_HOSTS: "127.0.0.1", AFS_ALERT_WEBHOOK_URL: `http://127.0.0.1:${port}/hook` },
    });

    const res = await fetch(`${server.url}/api/update-status`, {
      method: "POST",
      headers: { authorization: `Bearer ${E2E_TOKEN}`, "content-type": "application/json" },
      body: JSON.stringify({ model_key: KEY, status: "failed", progress: 40 }),
    });
    expect(res.status, await res.text()).toBe(200);
    // Firing, and taken by the receiver, before any page looks.
    await expect
      .poll(
        async () => {
          const body = (await (await fetch(`${server.url}/api/alerts`)).json()) as AlertsResponse;
          return body.alerts.map((a) => `${a.rule}|${a.subject}|${a.state}|${a.deliveries.map((d) => d.state).join(",")}`);
        },
        { timeout: 30_000, message: "the alert fires and is delivered" },
      )
      .toEqual([`run failed|${KEY}|firing|delivered`]);
    expect(received.length).toBeGreaterThan(0);
  });

  test.afterAll(async () => {
    if (server) await stopServer(server);
    receiver?.close();
    if (dir) fs.rmSync(dir, { recursive: true, force: true });
  });

  for (const width of WIDTHS) {
    for (const theme of THEMES) {
      test(`the bell, the panel and the overview at ${width} px, ${theme} theme`, async ({ page, context }, testInfo) => {
        const errors = collectConsoleErrors(page);
        await context.addCookies([{ name: "afs-theme", value: theme, url: server.url }]);
        await page.setViewportSize({ width, height: 844 });
        await page.goto(server.url);
        await expect(page.locator("html")).toHaveAttribute("data-theme", theme);

        const bell = page.getByRole("button", { name: "Alerts: 1 firing" });
        await expect(bell).toBeVisible();
        await expect(page.getByTestId("alerts-bell-count")).toHaveText("1");

        // A phone's overview starts with what fires; a wide screen keeps it to the bell.
        const overview = page.getByTestId("overview-alerts");
        if (width < 768) {
          await expect(overview).toBeVisible();
          await expect(overview).toContainText("1 alert firing");
          await expect(overview).toContainText("run failed");
          await expect(overview).toContainText(KEY);
          const cards = await page.getByTestId("stat-total-cost").boundingBox();
          expect((await overview.boundingBox())!.y).toBeLessThan(cards!.y);
        } else {
          await expect(overview).toBeHidden();
        }
        expect(await seriousViolations(page), `page at ${width} px, ${theme}`).toEqual([]);
        const { scrollWidth, clientWidth } = await noHorizontalScroll(page);
        expect(scrollWidth, `${width} px`).toBeLessThanOrEqual(clientWidth);

        await bell.click();
        const panel = page.getByRole("dialog", { name: "Alerts" });
        await expect(panel).toBeVisible();
        const firing = panel.getByTestId("alerts-firing");
        const item = firing.getByTestId("alert");
        await expect(item).toHaveCount(1);
        await expect(item).toHaveAttribute("data-state", "firing");
        await expect(item).toContainText("run failed");
        await expect(item).toContainText(KEY);
        await expect(item).toContainText("Firing");
        await expect(item).toContainText("Since");
        const delivery = item.getByTestId("alert-delivery");
        await expect(delivery).toHaveAttribute("data-state", "delivered");
        await expect(delivery).toContainText("hook");
        await expect(delivery).toContainText("Delivered after 1 attempt");
        await expect(panel.getByTestId("alerts-recent")).toContainText("Nothing else in the last 24 hours.");
        // The panel fits the screen, whatever its width.
        const box = (await panel.boundingBox())!;
        expect(box.x).toBeGreaterThanOrEqual(0);
        expect(box.x + box.width).toBeLessThanOrEqual(width);
        expect(await seriousViolations(page), `panel at ${width} px, ${theme}`).toEqual([]);
        await screenshot(page, `alerts-${width}-${theme}`, testInfo);

        // A phone's panel is the whole width; beside a wider one, a click on the backdrop closes it.
        if (width > 448) await page.mouse.click(5, 5);
        else await panel.getByRole("button", { name: "Close" }).click();
        await expect(panel).toBeHidden();

        await openAndCloseFromKeyboard(page, `keyboard at ${width} px, ${theme}`);
        expect(errors).toEqual([]);
      });
    }
  }
});

// The demo's config has no alerts section: nothing can fire, and the panel says so.
test("with no alert, the bell says none is firing and the panel says why it is empty", async ({ page }) => {
  const errors = collectConsoleErrors(page);
  await page.goto("/");
  const bell = page.getByRole("button", { name: "Alerts: none firing" });
  await expect(bell).toBeVisible();
  await expect(page.getByTestId("alerts-bell-count")).toHaveCount(0);
  await expect(page.getByTestId("overview-alerts")).toHaveCount(0);
  await bell.click();
  await expect(page.getByTestId("alerts-empty")).toHaveText(/Nothing is firing, and nothing fired in the last 24 hours\./);
  await page.getByTestId("alerts-close").click();
  await expect(page.getByRole("dialog", { name: "Alerts" })).toBeHidden();
  await expect(bell).toBeFocused();
  expect(errors).toEqual([]);
});

// Browsers fetch the manifest without cookies: with a viewer token set, it and every icon must
// still answer, while the dashboard itself stays behind sign-in.
test("installable: the manifest, its icons and the theme colours answer without a session", async ({ page, request }) => {
  const server = await startServer({ dataDir: copyDemoData(), env: { AFS_VIEWER_TOKEN: "e2e-viewer-token", AFS_GPU_SOURCE: "off" } });
  try {
    expect((await request.get(`${server.url}/`, { maxRedirects: 0 })).status()).toBe(307);

    const res = await request.get(`${server.url}/manifest.webmanifest`, { maxRedirects: 0 });
    expect(res.status()).toBe(200);
    expect(res.headers()["content-type"]).toContain("application/manifest+json");
    const manifest = JSON.parse(await res.text()) as { name: string; start_url: string; display: string; icons: Array<{ src: string; sizes: string; purpose?: string }> };
    expect(manifest).toMatchObject({ name: "AFS Training Dashboard", start_url: "/", display: "standalone" });
    expect(manifest.icons.map((i) => i.sizes)).toEqual(expect.arrayContaining(["192x192", "512x512"]));
    expect(manifest.icons.some((i) => i.purpose === "maskable")).toBe(true);

    // The sign-in page has the root layout's head: the manifest, the iOS icon and both theme colours.
    await page.goto(`${server.url}/sign-in`);
    await expect(page.locator('link[rel="manifest"]')).toHaveAttribute("href", "/manifest.webmanifest");
    const themeColors = await page.locator('meta[name="theme-color"]').evaluateAll((metas) => metas.map((m) => [m.getAttribute("media"), m.getAttribute("content")]));
    expect(themeColors).toEqual([
      ["(prefers-color-scheme: light)", "#ffffff"],
      ["(prefers-color-scheme: dark)", "#1a1f28"],
    ]);
    const appleIcon = await page.locator('link[rel="apple-touch-icon"]').getAttribute("href");
    expect(appleIcon).toBeTruthy();

    for (const src of [...manifest.icons.map((i) => i.src), appleIcon!]) {
      const icon = await request.get(new URL(src, server.url).href, { maxRedirects: 0 });
      expect(icon.status(), src).toBe(200);
      expect(icon.headers()["content-type"], src).toMatch(/^image\//);
    }
  } finally {
    await stopServer(server);
  }
});
