import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { startServer, stopServer } from "./support/server";

// The README's "Watch your own run": a config of keys and names over a real HuggingFace Trainer
// run folder (the H100 recording bundled as data/runs/majora-v1), served by `npm start`.
test("a minimal config over a HuggingFace run folder shows the run, its curve and config mistakes", async ({ page }) => {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-first-hour-"));
  fs.cpSync(path.join(__dirname, "..", "data", "runs", "majora-v1"), path.join(dataDir, "runs", "my-model"), { recursive: true });
  const config = {
    session: { name: "My fine-tunes", budget_usd: 50, default_cost_per_hour: 2.5 },
    models: [
      { key: "my-model", name: "My model" },
      { key: "next-one", name: "Next one", status: "queued" },
    ],
  };
  fs.writeFileSync(path.join(dataDir, "afs.config.json"), JSON.stringify(config));
  const server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: "off" }, npm: true });
  try {
    await page.goto(server.url);
    await expect(page.getByRole("heading", { name: "My fine-tunes" })).toBeVisible();
    const row = page.getByTestId("model-row-my-model");
    await expect(row).toContainText("Completed");
    await expect(row.getByRole("progressbar")).toHaveAttribute("aria-valuenow", "100");
    // The bad status is shown at its default, named on the row and in the banner.
    await expect(page.getByTestId("model-row-next-one")).toContainText("Pending");
    await expect(page.getByTestId("model-row-next-one").getByTestId("config-errors")).toContainText("status");
    const banner = page.getByTestId("notice-banner");
    await expect(banner).toContainText("models[1].status");
    await banner.getByRole("button", { name: /dismiss/i }).first().click();
    await expect(page.getByTestId("notice-banner")).toHaveCount(0);
    await page.reload();
    await expect(page.getByRole("heading", { name: "My fine-tunes" })).toBeVisible();
    await expect(page.getByTestId("notice-banner")).toHaveCount(0);

    await page.goto(`${server.url}/?tab=metrics`);
    await expect(page.getByTestId("loss-chart")).toBeVisible();
  } finally {
    await stopServer(server);
  }
});
