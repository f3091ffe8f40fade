import { beforeEach, describe, expect, it } from "vitest";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { GET as getCosts } from "@/app/api/costs/breakdown/route";
import { call, jsonl, makeDataDir } from "../helpers";

const chat = (i: number) => ({ messages: [{ role: "user", content: `q${i}` }, { role: "assistant", content: `a${i}` }] });

describe("GET /api/models/status", () => {
  beforeEach(() => {
    makeDataDir({
      models: [
        { key: "alpha", name: "Alpha", status: "completed", progress: 100, gpu_hours: 0.8, cost_per_hour: 1.2, deployment_status: "ready" },
        { key: "beta", name: "Beta", status: "running", progress: 40, gpu_hours: 0.7, cost_per_hour: 1.2, num_gpus: 2 },
        { key: "gamma", name: "Gamma" },
      ],
      files: {
        "models/alpha_merged.jsonl": jsonl([chat(1), chat(2), chat(3)]) + "\n   \n",
        "models/beta_merged.jsonl": jsonl([chat(1)]) + "{not json\n",
        "evaluations/a.json": JSON.stringify({ model_key: "alpha", score: 0.5, evaluated_at: "2026-11-01T00:00:00Z" }),
        "evaluations/b.json": JSON.stringify([{ model_key: "alpha", score: 0.75, evaluated_at: "2026-11-02T00:00:00Z", bleu: 30 }]),
        "evaluations/broken.json": "{",
        "evaluations/bad-score.json": JSON.stringify({ model_key: "beta", score: 7, evaluated_at: "2026-11-02T00:00:00Z" }),
      },
    });
  });

  it("merges config, sample counts and the newest evaluation, and lists broken files as warnings", async () => {
    const res = await call(getModels);
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const body = await res.json();
    const [alpha, beta, gamma] = body.models;
    expect(alpha).toMatchObject({
      key: "alpha", name: "Alpha", status: "completed", progress: 100, gpu_hours: 0.8, cost_per_hour: 1.2,
      total_cost: 0.96, training_samples: 3, evaluation_score: 0.75, deployment_status: "ready",
    });
    expect(alpha.file_size_mb).toBeCloseTo(Buffer.byteLength(jsonl([chat(1), chat(2), chat(3)]) + "\n   \n") / 1048576, 3);
    expect(beta).toMatchObject({ training_samples: 2, total_cost: 0.84, evaluation_score: null, deployment_status: "none" });
    expect(gamma).toMatchObject({ status: "pending", training_samples: 0, file_size_mb: 0, gpu_hours: 0, total_cost: 0 });
    expect(body.warnings).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^evaluations\/broken\.json: invalid JSON/),
        expect.stringMatching(/^evaluations\/bad-score\.json: score: Too big/),
        "models/beta_merged.jsonl: 1 malformed line(s), first at line 2",
      ]),
    );
    expect(body.warnings).toHaveLength(3);
  });

  it("answers one model, and 404 for an unknown key", async () => {
    const ok = await call(getModel, { params: { key: "beta" } });
    expect(await ok.json()).toMatchObject({ key: "beta", status: "running", progress: 40 });
    const missing = await call(getModel, { params: { key: "nope" } });
    expect(missing.status).toBe(404);
    expect(await missing.json()).toEqual({ error: 'Unknown model "nope"' });
  });

  it("sums the session in training status and cost breakdown", async () => {
    const training = await (await call(getTraining)).json();
    expect(training).toMatchObject({
      session_start: "2026-11-01T00:00:00Z", total_cost: 1.8, models_completed: 1, models_in_progress: 1,
      models_pending: 1, models_failed: 0, budget_usd: 10, estimated_completion: null,
    });
    const costs = await (await call(getCosts)).json();
    expect(costs.total_cost).toBe(1.8);
    expect(costs.hourly_rate).toBe(1.2);
    expect(costs.budget_remaining).toBe(8.2);
    // alpha has completed: it projects what it cost; gamma is pending: nothing to project yet
    expect(costs.breakdown.alpha).toEqual({
      total_cost: 0.96, gpu_hours: 0.8, cost_per_hour: 1.2, share: 0.5333,
      burn_rate_usd_per_hour: 0, projected_cost_to_finish: 0, projected_total_cost: 0.96,
    });
    expect(costs.breakdown.gamma).toEqual({
      total_cost: 0, gpu_hours: 0, cost_per_hour: 1, share: 0,
      burn_rate_usd_per_hour: 0, projected_cost_to_finish: null, projected_total_cost: null,
    });
  });

  it("reports health with version, paths and the same warnings", async () => {
    const body = await (await call(getHealth)).json();
    expect(body.status).toBe("degraded");
    expect(body.warning_count).toBe(3);
    expect(body.data_dir).toBe(process.env.AFS_DATA_DIR);
    const url = process.env.DATABASE_URL;
    expect(body.db).toEqual({ path: url ? url.replace(`:${new URL(url).password}@`, ":***@") : process.env.AFS_DB, schema_version: 8 });
    expect(body.store).toEqual({ engine: url ? "postgres" : "sqlite", ok: true, latency_ms: expect.any(Number), jobs: [] });
    if (url) expect(JSON.stringify(body)).not.toContain(`:${new URL(url).password}@`);
    expect(body.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(body.warnings).toHaveLength(3);
  });
});

describe("a broken or missing data dir never takes an endpoint down", () => {
  it("names the bad field of afs.config.json, and leaves out only a model it cannot identify", async () => {
    makeDataDir({ config: { session: { name: "x" }, models: [{ key: "Bad Key", name: "n", status: "sleeping", progress: 5, cost_per_hour: 1 }, { key: "ok", name: "OK" }] } });
    const body = await (await call(getModels)).json();
    expect(body.models.map((m: { key: string }) => m.key)).toEqual(["ok"]);
    expect(body.warnings).toEqual([
      "afs.config.json: models[0].key: must match ^[a-z0-9][a-z0-9_-]{0,63}$ (model not shown)",
      'afs.config.json: models[0].status: Invalid option: expected one of "pending"|"running"|"paused"|"completed"|"failed" (model not shown)',
      "afs.config.json: models[1] (ok): no cost_per_hour and no session.default_cost_per_hour; its cost counts as 0",
    ]);
  });

  it("keeps the last valid config when the file breaks later", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha" }] });
    expect((await (await call(getModels)).json()).models).toHaveLength(1);
    const { writeFile } = await import("../helpers");
    writeFile(dir, "afs.config.json", "{ half written");
    const body = await (await call(getModels)).json();
    expect(body.models.map((m: { key: string }) => m.key)).toEqual(["alpha"]);
    expect(body.warnings[0]).toMatch(/^afs\.config\.json: invalid JSON .*\(showing the last valid version\)$/);
  });

  it("answers with a warning when there is no config at all", async () => {
    makeDataDir({ config: null });
    const res = await call(getTraining);
    expect(res.status).toBe(200);
    const body = await res.json();
    expect(body.models_pending).toBe(0);
    expect(body.warnings).toEqual(["afs.config.json: not found"]);
  });

  it("rejects duplicate keys", async () => {
    makeDataDir({ models: [{ key: "alpha" }, { key: "alpha" }] });
    const body = await (await call(getModels)).json();
    expect(body.models).toHaveLength(1);
    expect(body.warnings).toEqual(['afs.config.json: models[1].key: duplicate key "alpha" (model not shown)']);
  });
});
