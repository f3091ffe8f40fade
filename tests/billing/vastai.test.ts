import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { listInstances } from "@/lib/billing/vastai";
import { parseRetryAfter } from "@/lib/http";
import { startFakeVastai, vastInstanceRow, type FakeVastai } from "../support/fake-vastai";

let fake: FakeVastai;
// For the tests that stub fetch instead of running the fake.
const STUB_KEY = "9b8a7c6d5e4f30211203f4e5d6c7b8a99a8b7c6d5e4f30211203f4e5d6c7b8a9";

beforeEach(async () => {
  fake = await startFakeVastai();
});
afterEach(async () => {
  await fake.close();
});

const list = (over: { apiKey?: string; timeoutMs?: number } = {}) =>
  listInstances({ url: fake.url, apiKey: over.apiKey ?? fake.apiKey, timeoutMs: over.timeoutMs ?? 2000 });

describe("listInstances", () => {
  it("follows every page and keeps vast's order", async () => {
    const rows = Array.from({ length: 60 }, (_, i) => vastInstanceRow({ id: 28_431_000 + i, gpu: i % 2 ? "H100_SXM" : "RTX 4090" }));
    fake.setInstances([...rows].reverse());

    const result = await list();

    expect(result.state).toBe("ok");
    if (result.state !== "ok") return;
    expect(result.warnings).toEqual([]);
    expect(result.instances.map((i) => i.id)).toEqual(rows.map((row) => row.id));
    expect(fake.requests.map((r) => r.query.limit)).toEqual(["25", "25", "25"]);
    expect(fake.requests[0].query.after_token).toBeUndefined();
    // Each later page asks after the token the previous page answered.
    expect(new Set(fake.requests.slice(1).map((r) => r.query.after_token)).size).toBe(2);
    expect(fake.requests.every((r) => r.path === "/api/v1/instances/" && r.authorization === `Bearer ${fake.apiKey}`)).toBe(true);
    expect(fake.requests.every((r) => !Object.values(r.query).some((v) => v.includes(fake.apiKey)))).toBe(true);
    expect(JSON.parse(fake.requests[0].query.order_by)).toEqual([{ col: "id", dir: "asc" }]);
  });

  it("reads the used fields and ignores unknown ones", async () => {
    fake.setInstances([
      vastInstanceRow({ id: 28_431_907, overrides: { label: "llama-sft", brand_new_field: { nested: true } } }),
      vastInstanceRow({ id: 28_431_912, gpu: "H100_SXM", overrides: { actual_status: "exited", intended_status: "stopped", cur_state: "stopped", gpu_util: null } }),
    ]);

    const result = await list();

    expect(result).toEqual({
      state: "ok",
      warnings: [],
      instances: [
        {
          id: 28_431_907,
          label: "llama-sft",
          actual_status: "running",
          intended_status: "running",
          cur_state: "running",
          dph_total: 0.45,
          storage_total_cost: 0.0104,
          start_date: 1764460800.183452,
          num_gpus: 1,
          gpu_name: "RTX 4090",
          gpu_util: 97,
          ssh_host: "ssh8.vast.ai",
          ssh_port: 21_907,
        },
        {
          id: 28_431_912,
          label: null,
          actual_status: "exited",
          intended_status: "stopped",
          cur_state: "stopped",
          dph_total: 2.1,
          storage_total_cost: 0.012,
          start_date: 1764460800.183452,
          num_gpus: 1,
          gpu_name: "H100_SXM",
          gpu_util: null,
          ssh_host: "ssh4.vast.ai",
          ssh_port: 21_912,
        },
      ],
    });
  });

  it("nulls a mistyped or missing field with a warning naming the instance, and leaves out one without an id", async () => {
    const missing = vastInstanceRow({ id: 28_431_950 });
    delete missing.ssh_port;
    fake.setInstances([
      vastInstanceRow({ id: 28_431_940, overrides: { dph_total: "0.45" } }),
      missing,
      vastInstanceRow({ id: 28_431_960, overrides: { num_gpus: -2 } }),
    ]);
    const result = await list();
    expect(result.state).toBe("ok");
    if (result.state !== "ok") return;
    expect(result.instances.map((i) => [i.id, i.dph_total, i.ssh_port, i.num_gpus])).toEqual([
      [28_431_940, null, 21_940, 1],
      [28_431_950, 0.45, null, 1],
      [28_431_960, 0.45, 21_960, null],
    ]);
    expect(result.warnings).toEqual([
      "instance 28431940: dph_total is unusable (a string); left null",
      "instance 28431950: ssh_port is missing; left null",
      "instance 28431960: num_gpus is unusable (-2); left null",
    ]);
  });

  it("leaves out an instance without a usable id", async () => {
    const fetchPage: typeof fetch = async () =>
      Response.json({ instances: [{ ...vastInstanceRow({ id: 1 }), id: "abc" }, vastInstanceRow({ id: 28_431_970 })], next_token: null });
    const result = await listInstances({ url: "http://vast.invalid", apiKey: STUB_KEY, timeoutMs: 1000, fetch: fetchPage });
    expect(result.state).toBe("ok");
    if (result.state !== "ok") return;
    expect(result.instances.map((i) => i.id)).toEqual([28_431_970]);
    expect(result.warnings).toEqual(["instance 1 of page 1 has no usable id (a string); left out"]);
  });

  it("answers auth_failed on 401 without the key anywhere", async () => {
    const wrongKey = "0d1e2f3a4b5c6d7e8f9a0b1c2d3e4f5a6b7c8d9e0f1a2b3c4d5e6f7a8b9c0d1e";
    const result = await list({ apiKey: wrongKey });
    expect(result).toEqual({ state: "auth_failed", reason: "page 1: HTTP 401: vast.ai refused the API key" });
    expect(JSON.stringify(result)).not.toContain(wrongKey);
    expect(fake.requests[0].authorization).toBe(`Bearer ${wrongKey}`);
  });

  it("answers auth_failed on 403", async () => {
    fake.queueAnswers({ kind: "status", status: 403 });
    expect(await list()).toEqual({ state: "auth_failed", reason: "page 1: HTTP 403: vast.ai refused the API key" });
  });

  it("hands back Retry-After seconds of a 429", async () => {
    fake.queueAnswers({ kind: "status", status: 429, retryAfter: "7" });
    expect(await list()).toEqual({ state: "rate_limited", reason: "page 1: HTTP 429: rate limited", retry_after_ms: 7000 });
  });

  it("hands back Retry-After as an HTTP date", async () => {
    fake.queueAnswers({ kind: "status", status: 429, retryAfter: new Date(Date.now() + 30_000).toUTCString() });
    const result = await list();
    expect(result.state).toBe("rate_limited");
    // The date has whole seconds, so up to one is lost.
    expect(result.state !== "ok" && result.retry_after_ms).toBeGreaterThan(28_000);
    expect(result.state !== "ok" && result.retry_after_ms).toBeLessThanOrEqual(30_000);
  });

  it("leaves retry_after_ms out when the server gave no advice", async () => {
    fake.queueAnswers({ kind: "status", status: 429 });
    expect(await list()).toEqual({ state: "rate_limited", reason: "page 1: HTTP 429: rate limited" });
  });

  it("answers server_error on a 500, and on a later page too", async () => {
    fake.queueAnswers({ kind: "status", status: 500 });
    expect(await list()).toEqual({ state: "server_error", reason: "page 1: HTTP 500" });

    fake.setInstances(Array.from({ length: 30 }, (_, i) => vastInstanceRow({ id: 100 + i })));
    fake.queueAnswers({ kind: "real" }, { kind: "status", status: 502 });
    expect(await list()).toEqual({ state: "server_error", reason: "page 2: HTTP 502" });
    expect(fake.requests.map((r) => r.query.after_token === undefined)).toEqual([true, true, false]);
  });

  it("answers server_error on a 503 with its Retry-After", async () => {
    fake.queueAnswers({ kind: "status", status: 503, retryAfter: "120" });
    expect(await list()).toEqual({ state: "server_error", reason: "page 1: HTTP 503", retry_after_ms: 120_000 });
  });

  it("answers error on malformed JSON", async () => {
    fake.queueAnswers({ kind: "malformed" });
    expect(await list()).toEqual({ state: "error", reason: "page 1: the answer is not JSON" });
  });

  it("answers error when the answer has no instances list", async () => {
    const fetchPage: typeof fetch = async () => Response.json({ results: [] });
    expect(await listInstances({ url: "http://vast.invalid", apiKey: STUB_KEY, timeoutMs: 1000, fetch: fetchPage })).toEqual({
      state: "error",
      reason: "page 1: the answer has no instances list or a mistyped next_token",
    });
  });

  it("gives up on a hanging server after timeoutMs", async () => {
    fake.queueAnswers({ kind: "hang" });
    const started = Date.now();
    expect(await list({ timeoutMs: 300 })).toEqual({ state: "error", reason: "page 1: no answer within 300 ms" });
    expect(Date.now() - started).toBeLessThan(2000);
  });

  it("answers error when nothing listens", async () => {
    const url = fake.url;
    await fake.close();
    const result = await listInstances({ url, apiKey: fake.apiKey, timeoutMs: 1000 });
    expect(result).toEqual({ state: "error", reason: "page 1: ECONNREFUSED" });
    fake = await startFakeVastai();
  });

  it("stops when the server repeats a next_token", async () => {
    fake.setInstances(Array.from({ length: 30 }, (_, i) => vastInstanceRow({ id: 100 + i })));
    fake.loopNextToken(true);
    expect(await list()).toEqual({ state: "error", reason: "page 2: the server repeated an earlier next_token" });
    expect(fake.requests).toHaveLength(2);
  });

  it("stops after 100 pages of fresh tokens", async () => {
    let calls = 0;
    const endless: typeof fetch = async () => Response.json({ instances: [], next_token: `t${++calls}` });
    expect(await listInstances({ url: "http://vast.invalid", apiKey: STUB_KEY, timeoutMs: 1000, fetch: endless })).toEqual({
      state: "error",
      reason: "still more pages after 100; stopped",
    });
    expect(calls).toBe(100);
  });

  it("keeps the key out of every failure", async () => {
    const answers = [
      { kind: "status", status: 429, retryAfter: "7" },
      { kind: "status", status: 500 },
      { kind: "malformed" },
    ] as const;
    for (const answer of answers) {
      fake.queueAnswers(answer);
      expect(JSON.stringify(await list())).not.toContain(fake.apiKey);
    }
  });
});

describe("parseRetryAfter", () => {
  it("reads seconds and HTTP dates and ignores the rest", () => {
    const now = Date.parse("2026-11-30T00:20:00Z");
    expect(parseRetryAfter({ value: "0", now })).toBe(0);
    expect(parseRetryAfter({ value: " 7 ", now })).toBe(7000);
    expect(parseRetryAfter({ value: "Mon, 30 Nov 2026 00:20:45 GMT", now })).toBe(45_000);
    expect(parseRetryAfter({ value: "Mon, 30 Nov 2026 00:19:00 GMT", now })).toBe(0);
    expect(parseRetryAfter({ value: "-3", now })).toBeNull();
    expect(parseRetryAfter({ value: "soon", now })).toBeNull();
    expect(parseRetryAfter({ value: null, now })).toBeNull();
  });
});
