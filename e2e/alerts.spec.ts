import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import type { AlertsResponse } from "../lib/schemas/api";
import { startAlertReceiver, type AlertReceiver } from "../tests/support/alert-receivers";
import { E2E_TOKEN, freePort } from "./support/env";
import { startServer, stopServer, type RunningServer } from "./support/server";

// Delivery that survives the server: the production server is SIGKILLed while a notification
// waits to be retried (its receiver down) and again after it was delivered; the receiver gets it
// exactly once.

let dir: string;
let server: RunningServer | undefined;
let receiver: AlertReceiver | undefined;

test.afterAll(async () => {
  if (server) await stopServer(server);
  await receiver?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

test("a notification waiting for its retry is delivered once across SIGKILLs", async () => {
  test.setTimeout(120_000);
  const port = freePort();
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-alerts-"));
  const config = {
    session: { name: "Night runs" },
    models: [{ key: "veran-v5", name: "Veran v5", status: "running", progress: 40, cost_per_hour: 1.2 }],
    alerts: { channels: [{ name: "hook", type: "webhook", url_env: "AFS_TEST_HOOK_URL" }], rules: [{ name: "run failed", when: "model_failed", channels: ["hook"] }] },
  };
  fs.writeFileSync(path.join(dir, "afs.config.json"), JSON.stringify(config));
  const env = { AFS_GPU_SOURCE: "off", AFS_ALERT_ALLOW_HOSTS: "127.0.0.1", AFS_TEST_HOOK_URL: `http://127.0.0.1:${port}/hook` };
  const start = async () => (server = await startServer({ dataDir: dir, env }));
  const alerts = async () => (await (await fetch(`${server!.url}/api/alerts`)).json()) as AlertsResponse;

  await start();
  // The rule starts watching, then the run fails while nothing listens at the webhook's port.
  await expect.poll(async () => (await alerts()).alerts.length).toBe(0);
  await new Promise((r) => setTimeout(r, 1500));
  const posted = await fetch(`${server!.url}/api/update-status`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${E2E_TOKEN}` },
    body: JSON.stringify({ model_key: "veran-v5", status: "failed", progress: 40 }),
  });
  expect(posted.status).toBe(200);
  await expect.poll(async () => (await alerts()).alerts[0]?.deliveries[0]?.state, { timeout: 15_000 }).toBe("retrying");

  // Killed while it waits for the retry; the receiver comes up while the server is down.
  await stopServer(server!, "SIGKILL");
  receiver = await startAlertReceiver({ port });
  await start();
  await expect.poll(async () => (await alerts()).alerts[0]?.deliveries[0]?.state, { timeout: 30_000 }).toBe("delivered");
  expect(receiver.requests).toHaveLength(1);
  expect(receiver.requests[0].body).toMatchObject({ version: 1, kind: "firing", rule: "run failed", subject: "veran-v5", title: "Veran v5 failed" });
  const [{ firing, alerts: [alert] }] = [await alerts()];
  expect(firing).toBe(1);
  expect(alert).toMatchObject({ state: "firing", deliveries: [{ channel: "hook", state: "delivered" }] });

  // Killed again after delivering: nothing is sent twice.
  await stopServer(server!, "SIGKILL");
  await start();
  await new Promise((r) => setTimeout(r, 3000));
  expect((await alerts()).alerts[0].deliveries).toMatchObject([{ state: "delivered" }]);
  expect(receiver.requests).toHaveLength(1);

  // A test message on demand, through the whole server (the proxy lets POST through).
  const tested = await fetch(`${server!.url}/api/alerts/test`, {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${E2E_TOKEN}` },
    body: JSON.stringify({ channel: "hook" }),
  });
  expect(await tested.json()).toEqual({ channel: "hook", state: "delivered" });
  expect(receiver.requests.map((r) => (r.body as { kind: string }).kind)).toEqual(["firing", "test"]);
});
