import { beforeEach, describe, expect, it } from "vitest";
import { GET as getCsv } from "@/app/api/export/csv/route";
import { GET as getJson } from "@/app/api/export/json/route";
import { GET as gpu } from "@/app/api/metrics/gpu-utilization/route";
import { GET as loss } from "@/app/api/metrics/training-loss/route";
import { GET as throughput } from "@/app/api/metrics/throughput/route";
import { GET as unknown } from "@/app/api/[...path]/route";
import { call, makeDataDir } from "../helpers";

describe("exports", () => {
  beforeEach(() => {
    makeDataDir({
      models: [
        { key: "alpha", name: 'Alpha "quoted", v1', status: "completed", progress: 100, gpu_hours: 1.5, cost_per_hour: 2 },
        { key: "evil", name: '=HYPERLINK("http://x")' },
      ],
      files: { "evaluations/a.json": JSON.stringify({ model_key: "alpha", score: 0.9, evaluated_at: "2026-11-01T00:00:00Z" }) },
    });
  });

  it("CSV: a header of every ModelStatus field, one quoted row per model, formulas made inert", async () => {
    const res = await call(getCsv);
    expect(res.headers.get("content-type")).toBe("text/csv; charset=utf-8");
    expect(res.headers.get("content-disposition")).toMatch(/^attachment; filename="afs-models\.csv"$/);
    const lines = (await res.text()).trimEnd().split("\r\n");
    expect(lines).toHaveLength(3);
    expect(lines[0]).toBe(
      '"key","name","status","progress","gpu_hours","cost_per_hour","total_cost","training_samples","file_size_mb","evaluation_score","deployment_status","last_update",' +
        '"gpu_hours_source","total_cost_source","file_size_bytes","stalled_since","config_errors","host",' +
        '"vast_instance","burn_rate_usd_per_hour","projected_cost_to_finish","projected_total_cost"',
    );
    expect(lines[1]).toMatch(/^"alpha","Alpha ""quoted"", v1","completed","100","1.5","2","3","0","0","0.9","none","/);
    expect(lines[2]).toMatch(/^"evil","'=HYPERLINK\(""http:\/\/x""\)","pending",/);
  });

  it("JSON: session, models, costs and evaluations as an attachment", async () => {
    const res = await call(getJson);
    expect(res.headers.get("content-disposition")).toBe('attachment; filename="afs-export.json"');
    const body = await res.json();
    expect(Object.keys(body)).toEqual(["generated_at", "session", "models", "costs", "evaluations"]);
    expect(body.session).toEqual({ name: "Test session", started_at: "2026-11-01T00:00:00Z", budget_usd: 10, currency: "USD" });
    expect(body.models[0]).toMatchObject({ gpu_hours: 1.5, gpu_hours_source: "configured", total_cost_source: "configured" });
    expect(body.models).toHaveLength(2);
    expect(body.costs.total_cost).toBe(3);
    expect(body.evaluations).toEqual([{ model_key: "alpha", score: 0.9, evaluated_at: "2026-11-01T00:00:00Z" }]);
  });
});

describe("metrics before their sources exist, and unknown paths", () => {
  it("answer empty metrics with source none, never invented numbers", async () => {
    makeDataDir();
    expect(await (await call(gpu)).json()).toEqual({ metrics: [], current_utilization: null, source: "none" });
    expect(await (await call(loss)).json()).toEqual({ metrics: [], non_finite: [], source: "none" });
    expect(await (await call(throughput)).json()).toEqual({ metrics: [], source: "none" });
  });

  it("answers an unknown /api path with a JSON 404", async () => {
    const res = await call(unknown, { params: { path: ["nope"] } as never });
    expect(res.status).toBe(404);
    expect(await res.json()).toEqual({ error: "No such endpoint" });
  });
});
