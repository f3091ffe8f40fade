import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { nextPollDelay, startVastPolling, stopBilling, vastPollsNow } from "@/lib/billing/poller";
import { closeCurrentStore } from "@/lib/store/db";
import { loadVastPolls } from "@/lib/store/vast-polls";
import type { ListInstancesResult } from "@/lib/billing/vastai";
import { startFakeVastai, vastInstanceRow, type FakeVastai } from "../support/fake-vastai";
import { makeDataDir, until } from "../helpers";

// The polling loop against the fake vast.ai on real timers: how soon it asks again after each
// kind of answer, and that every poll is stored.

let fake: FakeVastai;

beforeAll(async () => {
  fake = await startFakeVastai();
  vi.spyOn(console, "error").mockImplementation(() => {});
});
afterAll(async () => {
  await fake.close();
  vi.restoreAllMocks();
  for (const name of ["AFS_VASTAI_API_KEY", "AFS_VASTAI_URL", "AFS_VASTAI_INTERVAL_SECONDS"]) delete process.env[name];
});
afterEach(async () => {
  await stopBilling();
  await closeCurrentStore();
});

function setup() {
  makeDataDir({ models: [] });
  process.env.AFS_VASTAI_API_KEY = fake.apiKey;
  process.env.AFS_VASTAI_URL = fake.url;
  process.env.AFS_VASTAI_INTERVAL_SECONDS = "0.2";
  fake.requests.length = 0;
  fake.setInstances([vastInstanceRow({ id: 5 })]);
}
const requestTimes = () => fake.requests.map((r) => r.at);

describe("nextPollDelay", () => {
  const ok: ListInstancesResult = { state: "ok", instances: [], warnings: [] };
  it("waits the interval after an answer, a timeout or a broken answer", () => {
    expect(nextPollDelay({ result: ok, failures: 0, intervalMs: 60_000 })).toBe(60_000);
    expect(nextPollDelay({ result: { state: "error", reason: "page 1: the answer is not JSON" }, failures: 3, intervalMs: 60_000 })).toBe(60_000);
  });
  it("backs off by doubling after 5xx and 429, at most 10 minutes, unless the server says when", () => {
    const failed = { state: "server_error", reason: "page 1: HTTP 502" } as const;
    expect([0, 1, 2, 3, 4].map((failures) => nextPollDelay({ result: failed, failures, intervalMs: 60_000 }))).toEqual([60_000, 120_000, 240_000, 480_000, 600_000]);
    expect(nextPollDelay({ result: { ...failed, retry_after_ms: 90_000 }, failures: 4, intervalMs: 60_000 })).toBe(90_000);
    expect(nextPollDelay({ result: { ...failed, retry_after_ms: 86_400_000 }, failures: 0, intervalMs: 60_000 })).toBe(3_600_000);
    expect(nextPollDelay({ result: { state: "rate_limited", reason: "page 1: HTTP 429: rate limited" }, failures: 1, intervalMs: 60_000 })).toBe(120_000);
  });
  it("waits 10 minutes after a refused key", () => {
    expect(nextPollDelay({ result: { state: "auth_failed", reason: "page 1: HTTP 401" }, failures: 0, intervalMs: 60_000 })).toBe(600_000);
  });
});

describe("the polling loop", () => {
  it("polls every interval and stores each poll", async () => {
    setup();
    startVastPolling();
    await until(async () => fake.requests.length >= 3);
    await stopBilling();
    const stored = await loadVastPolls({ after: 0 });
    expect(stored.length).toBeGreaterThanOrEqual(3);
    expect(stored[0]).toMatchObject({ state: "ok", reason: null, warnings: [], instances: [expect.objectContaining({ id: 5, state: "running", dph_total: 0.45 })] });
    // what this process folded is what it stored
    expect(vastPollsNow()!.last).toEqual(stored.at(-1));
    expect(vastPollsNow()!.accrual.at(stored.at(-1)!.at).instances).toMatchObject([{ id: 5, observed_since: stored[0].at }]);
    const gaps = requestTimes().slice(1).map((t, i) => t - requestTimes()[i]);
    for (const gap of gaps) expect(gap).toBeGreaterThanOrEqual(190);
  });

  it("honours a 429's Retry-After, then goes back to the interval", async () => {
    setup();
    fake.queueAnswers({ kind: "status", status: 429, retryAfter: "2" });
    startVastPolling();
    await until(async () => fake.requests.length >= 3, 8000);
    const [first, second, third] = requestTimes();
    expect(second - first).toBeGreaterThanOrEqual(1990);
    expect(third - second).toBeLessThan(1500);
  });

  it("does not ask again soon after a refused key", async () => {
    setup();
    process.env.AFS_VASTAI_API_KEY = "refused-key";
    startVastPolling();
    await until(async () => fake.requests.length >= 1);
    await new Promise((r) => setTimeout(r, 1500));
    // seven intervals passed; a retry storm would have asked seven more times
    expect(fake.requests).toHaveLength(1);
    expect((await loadVastPolls({ after: 0 })).map((p) => [p.state, p.reason])).toEqual([["auth_failed", "page 1: HTTP 401: vast.ai refused the API key"]]);
  });
});
