import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import { copyDemoData, E2E_TOKEN } from "./support/env";
import { startServer, stopServer } from "./support/server";

// The production server on the bundled demo data, every endpoint over real HTTP.
test("the home page renders the demo session from the server", async ({ page }) => {
  const errors: string[] = [];
  page.on("console", (m) => m.type() === "error" && errors.push(m.text()));
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "AFS fine-tuning session" })).toBeVisible();
  await expect(page.getByTestId("model-table").getByRole("row")).toHaveCount(6);
  expect(errors).toEqual([]);
});

test("every endpoint answers per the contract on the bundled data", async ({ request }) => {
  const health = await (await request.get("/api/health")).json();
  expect(health).toMatchObject({ status: "healthy", version: "0.1.0", warnings: [] });

  const training = await (await request.get("/api/training/status")).json();
  expect(training).toMatchObject({
    session_start: "2026-11-26T09:00:00Z", total_cost: 4.08, models_completed: 2, models_in_progress: 2,
    models_pending: 0, models_failed: 1, budget_usd: 10,
  });

  const { models } = await (await request.get("/api/models/status")).json();
  expect(models.map((m: { name: string }) => m.name)).toEqual(["Majora v1", "Veran v5", "Kestrel v2", "Orin v3", "Sable v1"]);
  expect(models.map((m: { total_cost: number }) => m.total_cost)).toEqual([0.96, 0.84, 0.72, 0.84, 0.72]);
  expect(models[0]).toMatchObject({ key: "majora-v1", training_samples: 500, cost_per_hour: 1.2, evaluation_score: 0.9757 });

  const majora = await request.get("/api/models/majora-v1/status");
  expect(await majora.json()).toEqual(models[0]);
  const missing = await request.get("/api/models/nope/status");
  expect(missing.status()).toBe(404);
  expect(await missing.json()).toEqual({ error: 'Unknown model "nope"' });

  const costs = await (await request.get("/api/costs/breakdown")).json();
  expect(costs).toMatchObject({ total_cost: 4.08, hourly_rate: 1.2, budget_usd: 10, budget_remaining: 5.92 });
  // majora-v1 has completed: it projects what it cost and burns nothing
  expect(costs.breakdown["majora-v1"]).toEqual({
    total_cost: 0.96, gpu_hours: 0.8, cost_per_hour: 1.2, share: 0.2353,
    burn_rate_usd_per_hour: 0, projected_cost_to_finish: 0, projected_total_cost: 0.96,
  });
  expect(costs.budget).toMatchObject({ usd: 10, spent: 4.08, left: 5.92 });
  // Without a vast.ai key, billing says it is off; the timeline answers per model, a bad range is a 400.
  expect(await (await request.get("/api/billing/instances")).json()).toEqual({ state: "off", last_polled: null, stale: false, instances: [], warnings: [] });
  const timeline = await request.get("/api/costs/timeline?range=1h");
  expect(timeline.status()).toBe(200);
  expect(await timeline.json()).toMatchObject({ range: "1h", period_seconds: 60 });
  expect((await request.get("/api/costs/timeline?range=2h")).status()).toBe(400);

  // The demo replays the real H100 capture, and says so.
  await expect(async () => {
    const gpus = await (await request.get("/api/gpus")).json();
    expect(gpus).toMatchObject({ source: "replay", status: "ok", gpus: [{ name: "NVIDIA H100 80GB HBM3", memory_total_mb: 81559 }] });
    const gpu = await (await request.get("/api/metrics/gpu-utilization?range=15m")).json();
    expect(gpu.source).toBe("replay");
    expect(gpu.metrics.length).toBeGreaterThan(0);
  }).toPass({ timeout: 10_000 });

  const loss = await (await request.get("/api/metrics/training-loss?model=majora-v1")).json();
  expect(loss.source).toBe("runs");
  expect(loss.metrics.filter((r: { train_loss: number | null }) => r.train_loss !== null)).toHaveLength(80);
  expect((await (await request.get("/api/metrics/training-loss?model=veran-v5")).json())).toEqual({ metrics: [], non_finite: [], source: "none" });
  const throughput = await (await request.get("/api/metrics/throughput?model=majora-v1")).json();
  expect(throughput.metrics[0]).toMatchObject({ model: "majora-v1", step: 400 });
  const runs = await (await request.get("/api/models/majora-v1/runs")).json();
  expect(runs).toMatchObject({ progress: { global_step: 400, max_steps: 400 }, completed: true });

  const registry = await (await request.get("/api/models/registry")).json();
  const files = registry.models[0].files;
  expect(files.map((f: { name: string }) => f.name)).toEqual(["config.json", "generation_config.json", "model.safetensors"]);
  const weights = await request.get(files[2].download_url);
  expect(weights.headers()["content-length"]).toBe("484936");
  expect((await weights.body()).length).toBe(484936);
  const part = await request.get(files[2].download_url, { headers: { range: "bytes=0-7" } });
  expect(part.status()).toBe(206);
  expect(part.headers()["content-length"]).toBe("8");
  expect(part.headers()["content-range"]).toBe("bytes 0-7/484936");
  expect((await request.get(files[2].download_url, { headers: { range: "bytes=484936-" } })).status()).toBe(416);
  expect((await request.get("/api/models/majora-v1/files/..%2f..%2fafs.config.json")).status()).toBe(404);

  const csv = await request.get("/api/export/csv");
  expect(csv.headers()["content-type"]).toBe("text/csv; charset=utf-8");
  expect((await csv.text()).trimEnd().split("\r\n")).toHaveLength(6);
  const json = await request.get("/api/export/json");
  expect(json.headers()["content-disposition"]).toContain("attachment");
  expect((await json.json()).models).toHaveLength(5);

  const wrongMethod = await request.delete("/api/models/status");
  expect(wrongMethod.status()).toBe(405);
  expect(await wrongMethod.json()).toMatchObject({ error: "Method DELETE not allowed" });
  const unknown = await request.get("/api/nope");
  expect(unknown.status()).toBe(404);
  expect(await unknown.json()).toEqual({ error: "No such endpoint" });
});

test("update-status: errors over HTTP, and a posted status survives a restart", async ({ request }) => {
  const body = { model_key: "veran-v5", status: "running", progress: 72.5 };
  const post = (data: unknown, headers: Record<string, string>) => request.post("/api/update-status", { data, headers });
  expect((await post(body, {})).status()).toBe(401);
  expect((await post(body, { authorization: "Bearer wrong" })).status()).toBe(401);
  const bad = await post({ ...body, progress: 101 }, { authorization: `Bearer ${E2E_TOKEN}` });
  expect(bad.status()).toBe(400);
  expect(await bad.json()).toMatchObject({ error: "Invalid request", details: ["progress: Too big: expected number to be <=100"] });
  const unknown = await post({ ...body, model_key: "ghost" }, { authorization: `Bearer ${E2E_TOKEN}` });
  expect(unknown.status()).toBe(404);
  const plain = await request.post("/api/update-status", {
    data: "x",
    headers: { authorization: `Bearer ${E2E_TOKEN}`, "content-type": "text/plain" },
  });
  expect(plain.status()).toBe(415);

  // A server of its own, stopped and started again on the same data dir, on a host without
  // nvidia-smi: it says so and serves everything else.
  const dataDir = copyDemoData();
  const env = { NVIDIA_SMI: "/nonexistent/nvidia-smi", AFS_GPU_SOURCE: "nvidia-smi" };
  let server = await startServer({ dataDir, env });
  try {
    const gpus = await (await request.get(`${server.url}/api/gpus`)).json();
    expect(gpus).toMatchObject({ source: "nvidia-smi", status: "unavailable", gpus: [] });
    const gpu = await (await request.get(`${server.url}/api/metrics/gpu-utilization`)).json();
    expect(gpu).toEqual({ metrics: [], current_utilization: null, source: "none" });
    const ok = await request.post(`${server.url}/api/update-status`, { data: body, headers: { authorization: `Bearer ${E2E_TOKEN}` } });
    expect(ok.status()).toBe(200);
    expect(await ok.json()).toMatchObject({ key: "veran-v5", status: "running", progress: 72.5 });
    await stopServer(server);
    server = await startServer({ dataDir, port: server.port, env });
    const after = await (await request.get(`${server.url}/api/models/veran-v5/status`)).json();
    expect(after).toMatchObject({ status: "running", progress: 72.5 });
  } finally {
    await stopServer(server);
  }
});

test("SIGTERM to the npm process that `npm start` runs stops the server", async () => {
  const server = await startServer({ dataDir: copyDemoData(), env: { AFS_GPU_SOURCE: "off" }, npm: true });
  await stopServer(server);
  // npm has exited; the server it started must not be left listening.
  let listening = true;
  for (let i = 0; i < 50 && listening; i++) {
    listening = await fetch(`${server.url}/api/health`).then(() => true, () => false);
    if (listening) await new Promise((r) => setTimeout(r, 100));
  }
  expect(listening).toBe(false);
});

test("the dashboard revalidates with the last ETag and an unchanged answer comes back as 304", async ({ page, request }) => {
  // Once the data dir is read and every training file checked, nothing changes the answer between the refreshes.
  await expect
    .poll(async () => (await (await request.get("/api/health")).json()).scan, { timeout: 30_000 })
    .toMatchObject({ state: "ready", checking: 0 });
  await page.goto("/");
  await expect(page.getByRole("heading", { name: "AFS fine-tuning session" })).toBeVisible();
  const training = (r: { url: () => string }) => r.url().endsWith("/api/training/status");
  const refresh = async () => {
    const answer = page.waitForResponse(training);
    await page.getByTestId("refresh").click();
    return answer;
  };
  const first = await refresh();
  let second = await refresh();
  // On a busy machine the page's own revalidation after load can still be on its way when the
  // first click's request leaves without its ETag; the next click then carries it.
  if (second.status() === 200) second = await refresh();
  expect(second.status()).toBe(304);
  expect(await second.request().headerValue("if-none-match")).toBe(await first.headerValue("etag"));
  // The numbers on screen stay: the 304 hands back the last answer.
  await expect(page.getByTestId("stat-models-completed")).toContainText("2");
});

test("a store that is no database stops the server at start, naming the file and the fault", async () => {
  const dataDir = copyDemoData();
  fs.mkdirSync(path.join(dataDir, ".afs"), { recursive: true });
  fs.writeFileSync(path.join(dataDir, ".afs", "afs.db"), "not a database ".repeat(100));
  await expect(startServer({ dataDir, env: { AFS_GPU_SOURCE: "off" } })).rejects.toThrow(
    /server exited early[\s\S]*the store \S*afs\.db cannot be used: file is not a database/,
  );
});
