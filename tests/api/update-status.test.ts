import { beforeEach, describe, expect, it } from "vitest";
import { POST } from "@/app/api/update-status/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { insertStatusRows, storeRows } from "../support/store";
import { call, makeDataDir, postJson, TEST_TOKEN } from "../helpers";

const post = (body: unknown, headers?: Record<string, string>) => call(POST, { init: postJson(body, headers) });

describe("POST /api/update-status", () => {
  beforeEach(() => {
    makeDataDir({ models: [{ key: "alpha", name: "Alpha", status: "pending", progress: 0, cost_per_hour: 2, num_gpus: 2 }] });
  });

  it("appends to the history, answers the new status and keeps it in the store", async () => {
    const res = await post({ model_key: "alpha", status: "running", progress: 12.5 });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({ key: "alpha", status: "running", progress: 12.5 });
    await post({ model_key: "alpha", status: "paused", progress: 20 });
    const rows = await storeRows("SELECT model_key, status, progress, source FROM status_updates ORDER BY id");
    expect(rows).toEqual([
      { model_key: "alpha", status: "running", progress: 12.5, source: "api" },
      { model_key: "alpha", status: "paused", progress: 20, source: "api" },
    ]);
    expect(await (await call(getModel, { params: { key: "alpha" } })).json()).toMatchObject({ status: "paused", progress: 20 });
  });

  it("accrues GPU hours while running, times the number of GPUs", async () => {
    const t0 = Date.now() - 3 * 3_600_000;
    await insertStatusRows([
      { model_key: "alpha", status: "running", progress: 10, at: new Date(t0).toISOString() },
      { model_key: "alpha", status: "paused", progress: 30, at: new Date(t0 + 3_600_000).toISOString() }, // 1 h running
      { model_key: "alpha", status: "running", progress: 30, at: new Date(t0 + 2 * 3_600_000).toISOString() }, // running for the last hour, still
    ]);
    const model = await (await call(getModel, { params: { key: "alpha" } })).json();
    expect(model.gpu_hours).toBeCloseTo(4, 2); // 2 h × 2 GPUs
    expect(model.total_cost).toBeCloseTo(8, 2);
  });

  it("estimates completion from the progress rate of a running model", async () => {
    const t0 = Math.floor(Date.now() / 1000) * 1000 - 3_600_000;
    await insertStatusRows([
      { model_key: "alpha", status: "running", progress: 10, at: new Date(t0).toISOString() },
      { model_key: "alpha", status: "running", progress: 30, at: new Date(t0 + 3_600_000).toISOString() }, // 20 % an hour, 70 % left: 3.5 h more
    ]);
    const body = await (await call(getTraining)).json();
    const at = new Date(t0 + 4.5 * 3_600_000).toISOString();
    expect(body.estimated_completion).toBe(at);
    expect(body.estimate).toEqual({ at, models: [{ key: "alpha", at }] });
    expect(body.session_start).toBe("2026-11-01T00:00:00Z");
  });

  it("refuses a missing or wrong token with 401", async () => {
    const none = await call(POST, { init: { ...postJson({ model_key: "alpha", status: "running", progress: 1 }), headers: { "content-type": "application/json" } } });
    expect(none.status).toBe(401);
    expect(await none.json()).toEqual({ error: expect.stringContaining("admin token") });
    for (const wrong of ["x", TEST_TOKEN + "x", "a".repeat(5000)]) {
      const res = await post({ model_key: "alpha", status: "running", progress: 1 }, { authorization: `Bearer ${wrong}` });
      expect(res.status).toBe(401);
    }
    expect(await storeRows("SELECT count(*) AS n FROM status_updates")).toEqual([{ n: 0 }]);
  });

  it("answers bad bodies with 400, 413 and 415 and stores nothing", async () => {
    const cases: [RequestInit, number, RegExp][] = [
      [postJson("{nope"), 400, /not valid JSON/],
      [postJson({ model_key: "alpha", status: "sleeping", progress: 1 }), 400, /Invalid request/],
      [postJson({ model_key: "alpha", status: "running", progress: 101 }), 400, /Invalid request/],
      [postJson({ model_key: "alpha", status: "running", progress: -1 }), 400, /Invalid request/],
      [postJson('{"model_key":"alpha","status":"running","progress":1e309}'), 400, /Invalid request/],
      [postJson({ model_key: "alpha", status: "running", progress: 1, extra: true }), 400, /Invalid request/],
      [postJson({ model_key: "alpha", status: "running", progress: 1, pad: "x".repeat(70_000) }), 413, /exceeds 65536/],
      [{ ...postJson({}), headers: { authorization: `Bearer ${TEST_TOKEN}`, "content-type": "text/plain" } }, 415, /application\/json/],
    ];
    for (const [init, status, message] of cases) {
      const res = await call(POST, { init });
      expect(res.status, JSON.stringify(init.body).slice(0, 80)).toBe(status);
      expect((await res.json()).error).toMatch(message);
    }
    const details = await (await call(POST, { init: postJson({ model_key: "alpha", status: "running", progress: 101 }) })).json();
    expect(details.details).toEqual(["progress: Too big: expected number to be <=100"]);
    expect(await storeRows("SELECT count(*) AS n FROM status_updates")).toEqual([{ n: 0 }]);
  });

  it("counts streamed bytes when there is no Content-Length", async () => {
    const big = new TextEncoder().encode(JSON.stringify({ pad: "x".repeat(70_000) }));
    const body = new ReadableStream({
      start(controller) {
        for (let i = 0; i < big.length; i += 8192) controller.enqueue(big.slice(i, i + 8192));
        controller.close();
      },
    });
    const init = { ...postJson({}), body, duplex: "half" } as RequestInit;
    const res = await call(POST, { init });
    expect(res.status).toBe(413);
  });

  it("answers 404 for an unknown model key", async () => {
    const res = await post({ model_key: "ghost", status: "running", progress: 1 });
    expect(res.status).toBe(404);
  });
});
