import { defineConfig, devices } from "@playwright/test";
import { chromiumPath, copyDemoData, E2E_TOKEN, freePort } from "./e2e/support/env";

// Chosen once in the runner process; workers load this file again and inherit these values.
process.env.E2E_PORT ??= String(freePort());
process.env.E2E_DATA_DIR ??= copyDemoData();
const baseURL = `http://127.0.0.1:${process.env.E2E_PORT}`;

export default defineConfig({
  testDir: "e2e",
  outputDir: "test-results",
  fullyParallel: false,
  workers: 1,
  forbidOnly: true,
  retries: 0,
  timeout: 60_000,
  reporter: [["list"], ["json", { outputFile: "test-results/e2e.json" }]],
  use: {
    baseURL,
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    extraHTTPHeaders: {},
  },
  projects: [
    {
      name: "chromium",
      use: {
        ...devices["Desktop Chrome"],
        launchOptions: {
          executablePath: chromiumPath(),
          // Without the networking flags Chromium keeps dialling Google's hosts on a closed network.
          args: [
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
          ],
        },
      },
    },
  ],
  webServer: {
    // The demo as people run it: the bundled data and the replayed H100 capture.
    command: "node scripts/serve.mjs --demo",
    url: `${baseURL}/api/health`,
    reuseExistingServer: false,
    timeout: 60_000,
    env: {
      PORT: process.env.E2E_PORT,
      HOST: "127.0.0.1",
      AFS_DATA_DIR: process.env.E2E_DATA_DIR,
      AFS_API_TOKEN: E2E_TOKEN,
    },
  },
});
