import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it, vi } from "vitest";
import { parseDcgmMetrics, parseExpositionLine, pollDcgm, type DcgmPoll, type DcgmState } from "@/lib/hosts/dcgm";

const FIXTURE = fs.readFileSync(path.join(__dirname, "../fixtures/dcgm/default-counters.prom"), "utf8");

const BUSY_H100 = {
  index: 0,
  uuid: "GPU-5b8d21e4-0c3a-4f6e-9a71-2d4c8e0f1a36",
  name: "NVIDIA H100 80GB HBM3",
  bus_id: "00000000:18:00.0",
  pstate: null,
  utilization: 97,
  memory_utilization: 43,
  memory_used_mb: 64501,
  memory_total_mb: 81048,
  temperature_c: 61,
  power_w: 612.345,
  power_limit_w: null,
  sm_clock_mhz: 1980,
  mem_clock_mhz: 2619,
  fan_percent: null,
  error: null,
};
const IDLE_H100 = {
  ...BUSY_H100,
  index: 1,
  uuid: "GPU-c2f7a9d0-6e14-4b83-b5d2-7a90e3c41f58",
  bus_id: "00000000:2A:00.0",
  utilization: 0,
  memory_utilization: 0,
  memory_used_mb: 0,
  memory_total_mb: 81048,
  temperature_c: 29,
  power_w: 69.151,
  sm_clock_mhz: 345,
};

describe("parseDcgmMetrics", () => {
  it("reads dcgm-exporter's default counters into the nvidia-smi parser's readings", () => {
    expect(parseDcgmMetrics({ text: FIXTURE })).toEqual({ readings: [BUSY_H100, IDLE_H100], timestamp: null });
  });

  it("gives the same readings whatever the order of the lines, and without HELP and TYPE", () => {
    const samples = FIXTURE.split("\n").filter((l) => l && !l.startsWith("#"));
    const text = [...samples].reverse().join("\n");
    expect(parseDcgmMetrics({ text }).readings).toEqual([BUSY_H100, IDLE_H100]);
  });

  it("reads escaped labels, spaces, timestamps and CRLF; NaN, Inf and DCGM's blanks are null; unknown metrics and MIG instances are skipped", () => {
    const text = [
      "# HELP DCGM_FI_DEV_GPU_UTIL GPU utilization (in %).",
      "# TYPE DCGM_FI_DEV_GPU_UTIL gauge",
      'DCGM_FI_DEV_GPU_UTIL { gpu = "3" , UUID="GPU-x", modelName="A \\"quoted\\" \\\\ name\\nline", } 55 1764150000123\r',
      'DCGM_FI_DEV_GPU_TEMP{gpu="3"}\tNaN',
      'DCGM_FI_DEV_POWER_USAGE{gpu="3"} +Inf 1764150000999',
      'DCGM_FI_DEV_MEMORY_TEMP{gpu="3"} 9223372036854775794',
      'DCGM_FI_DEV_SM_CLOCK{gpu="3"} 9223372036854775794',
      'DCGM_FI_DEV_MEM_CLOCK{gpu="3"} 1.5e3',
      'DCGM_FI_DEV_FB_USED{gpu="3"} 100',
      'DCGM_FI_DEV_FB_TOTAL{gpu="3"} 4096',
      'DCGM_FI_DEV_POWER_MGMT_LIMIT{gpu="3"} 700.000000',
      'DCGM_FI_DEV_GPU_UTIL{gpu="3",GPU_I_ID="1",GPU_I_PROFILE="1g.10gb"} 12',
      'DCGM_FI_PROF_SM_ACTIVE{gpu="3"} 0.5',
      'DCGM_FI_DEV_GPU_UTIL{UUID="GPU-no-index"} 80',
      'DCGM_FI_DEV_GPU_UTIL{gpu="4"',
      'DCGM_FI_DEV_GPU_UTIL{gpu="5"} fifty',
      "# EOF",
    ].join("\n");
    expect(parseDcgmMetrics({ text })).toEqual({
      readings: [
        {
          index: 3,
          uuid: "GPU-x",
          name: 'A "quoted" \\ name\nline',
          bus_id: null,
          pstate: null,
          utilization: 55,
          memory_utilization: null,
          memory_used_mb: 100,
          memory_total_mb: 4096,
          temperature_c: null,
          power_w: null,
          power_limit_w: 700,
          sm_clock_mhz: null,
          mem_clock_mhz: 1500,
          fan_percent: null,
          error: null,
        },
      ],
      timestamp: 1764150000999,
    });
  });

  it("parses single exposition lines", () => {
    expect(parseExpositionLine({ line: "up 1" })).toEqual({ name: "up", labels: {}, value: 1, timestamp: null });
    expect(parseExpositionLine({ line: 'a{b="c,d}"} -0.5 12' })).toEqual({ name: "a", labels: { b: "c,d}" }, value: -0.5, timestamp: 12 });
    expect(parseExpositionLine({ line: "# TYPE up gauge" })).toBeNull();
    expect(parseExpositionLine({ line: "up-1 5" })).toBeNull();
    expect(parseExpositionLine({ line: "up 1 2 3" })).toBeNull();
    expect(parseExpositionLine({ line: "up" })).toBeNull();
  });

  it("finds no GPU in an answer that is not dcgm-exporter's", () => {
    expect(parseDcgmMetrics({ text: "<html>not metrics</html>\nnode_load1 0.5\n" })).toEqual({ readings: [], timestamp: null });
  });
});

// A dcgm-exporter stand-in over real HTTP: serves the fixture, or takes requests and never answers.
function startExporter() {
  let mode: "answer" | "hang" = "answer";
  let active = 0;
  let maxActive = 0;
  let requests = 0;
  const server = http.createServer((req, res) => {
    requests++;
    active++;
    maxActive = Math.max(maxActive, active);
    res.on("close", () => active--);
    if (mode === "answer") res.writeHead(200, { "content-type": "text/plain; version=0.0.4" }).end(FIXTURE);
  });
  const listen = (port = 0) => new Promise<number>((resolve) => server.listen(port, "127.0.0.1", () => resolve((server.address() as AddressInfo).port)));
  const close = () =>
    new Promise<void>((resolve) => {
      server.close(() => resolve());
      server.closeAllConnections();
    });
  return {
    listen,
    close,
    setMode: (m: typeof mode) => (mode = m),
    stats: () => ({ requests, maxActive }),
  };
}

describe("pollDcgm", () => {
  let poll: DcgmPoll | null = null;
  let exporter: ReturnType<typeof startExporter> | null = null;
  afterEach(async () => {
    await poll?.stop();
    await exporter?.close().catch(() => {});
    poll = null;
    exporter = null;
  });

  it("goes unreachable when the URL stops answering or refuses, and back online when it answers; never two requests at once", async () => {
    exporter = startExporter();
    const port = await exporter.listen();
    const states: DcgmState[] = [];
    const batches: number[] = [];
    poll = pollDcgm({
      url: `http://127.0.0.1:${port}/metrics`,
      intervalMs: 50,
      timeoutMs: 300,
      onReadings: ({ readings }) => batches.push(readings.length),
      onState: (s) => states.push(s),
    });
    const waitForState = (state: DcgmState["state"]) => vi.waitFor(() => expect(poll!.state().state).toBe(state), { timeout: 5000, interval: 20 });

    await waitForState("online");
    expect(states[0]).toEqual({ state: "connecting", last_seen: null });
    expect(states[1]).toEqual({ state: "online", last_seen: expect.any(String) });
    expect(batches[0]).toBe(2);
    const seen = poll.state().last_seen!;

    exporter.setMode("hang");
    await waitForState("unreachable");
    expect(poll.state()).toEqual({ state: "unreachable", reason: "no answer within 300 ms", last_seen: expect.any(String) });
    expect(Date.parse(poll.state().last_seen!)).toBeGreaterThanOrEqual(Date.parse(seen));
    const hung = exporter.stats().requests;
    await new Promise((r) => setTimeout(r, 700));
    // Each hung request waits out its timeout before the next one starts.
    expect(exporter.stats().requests - hung).toBeLessThanOrEqual(3);

    await exporter.close();
    await vi.waitFor(() => expect(poll!.state().reason).toBe("ECONNREFUSED"), { timeout: 5000, interval: 20 });
    expect(poll.state().state).toBe("unreachable");

    exporter.setMode("answer");
    await exporter.listen(port);
    const before = batches.length;
    await waitForState("online");
    expect(batches.length).toBeGreaterThan(before);
    // Between the timeouts and the refusals, closing the server may fail the hung request with a reason of its own.
    expect(states.map((s) => s.state).filter((s, i, all) => s !== all[i - 1])).toEqual(["connecting", "online", "unreachable", "online"]);
    expect(states.map((s) => s.reason).filter(Boolean)).toEqual(expect.arrayContaining(["no answer within 300 ms", "ECONNREFUSED"]));
    expect(exporter.stats().maxActive).toBe(1);
  });

  it("reports an HTTP error and an answer with no GPU, and stops cleanly mid-request", async () => {
    const states: DcgmState[] = [];
    // One answer per request; the third request is held until stop() aborts it.
    const answers = [() => new Response("nope", { status: 503 }), () => new Response("node_load1 0.5\n", { status: 200 })];
    let calls = 0;
    const fakeFetch = (async (_url: string, init?: RequestInit) => {
      const answer = answers[calls++];
      if (answer) return answer();
      return new Promise<Response>((_, reject) => init!.signal!.addEventListener("abort", () => reject(init!.signal!.reason)));
    }) as typeof fetch;
    poll = pollDcgm({ url: "http://exporter.invalid/metrics", intervalMs: 20, timeoutMs: 10_000, onReadings: () => {}, onState: (s) => states.push(s), fetch: fakeFetch });
    await vi.waitFor(() => expect(calls).toBe(3));
    expect(states).toEqual([
      { state: "connecting", last_seen: null },
      { state: "unreachable", reason: "HTTP 503", last_seen: null },
      { state: "no_gpu", reason: "the exporter answered with no DCGM GPU metrics", last_seen: expect.any(String) },
    ]);
    await poll.stop();
    poll = null;
    await new Promise((r) => setTimeout(r, 60));
    expect(calls).toBe(3);
    expect(states).toHaveLength(3);
  });
});
