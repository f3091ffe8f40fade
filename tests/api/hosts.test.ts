import fs from "node:fs";
import http from "node:http";
import type { AddressInfo } from "node:net";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GET as getHost } from "@/app/api/hosts/[name]/route";
import { GET as getHosts } from "@/app/api/hosts/route";
import { GET as getUtilization } from "@/app/api/metrics/gpu-utilization/route";
import { GET as getStatus } from "@/app/api/models/status/route";
import { startFleet, stopFleet } from "@/lib/hosts/fleet";
import { stopLiveState } from "@/lib/state/live-state";
import type { Host } from "@/lib/schemas/api";
import { call, makeDataDir, until } from "../helpers";

const EXPOSITION = fs.readFileSync(path.join(__dirname, "../fixtures/dcgm/default-counters.prom"), "utf8");

let exporter: http.Server | null = null;

afterEach(async () => {
  await stopFleet();
  await stopLiveState();
  exporter?.closeAllConnections();
  await new Promise((resolve) => (exporter ? exporter.close(resolve) : resolve(null)));
  exporter = null;
  delete process.env.AFS_GPU_INTERVAL_MS;
});

// dcgm-exporter's /metrics, answering the documented default counters until closed.
async function startExporter(): Promise<string> {
  exporter = http.createServer((_req, res) => res.writeHead(200, { "content-type": "text/plain" }).end(EXPOSITION));
  await new Promise<void>((resolve) => exporter!.listen(0, "127.0.0.1", resolve));
  return `http://127.0.0.1:${(exporter.address() as AddressInfo).port}/metrics`;
}

const hosts = async (): Promise<Host[]> => (await (await call(getHosts)).json()).hosts;

describe("GET /api/hosts", () => {
  it("lists this machine first and every configured host, with the models on each", async () => {
    makeDataDir({
      config: {
        session: { name: "S", default_cost_per_hour: 2 },
        hosts: [{ name: "a100-east", ssh: "root@203.0.113.7:22022", runs: "/workspace/runs", cost_per_hour: 1.1 }],
        models: [
          { key: "veran-v5", name: "Veran", host: "a100-east" },
          { key: "here", name: "Here" },
        ],
      },
    });
    const list = await hosts();
    expect(list.map((h) => [h.name, h.source, h.cost_per_hour, h.models])).toEqual([
      ["local", "local", null, ["here"]],
      ["a100-east", "ssh", 1.1, ["veran-v5"]],
    ]);
    // Nothing reads the remote host in this process: it says so rather than inventing a state.
    expect(list[1]).toMatchObject({ state: "connecting", last_seen: null, gpus: [] });
    const models = (await (await call(getStatus)).json()).models;
    expect(models.map((m: { key: string; host: string; cost_per_hour: number }) => [m.key, m.host, m.cost_per_hour])).toEqual([
      ["veran-v5", "a100-east", 1.1],
      ["here", "local", 2],
    ]);
    const one = await call(getHost, { params: { name: "a100-east" } });
    expect(one.status).toBe(200);
    expect((await one.json()).name).toBe("a100-east");
    const unknown = await call(getHost, { params: { name: "nope" } });
    expect(unknown.status).toBe(404);
    expect(await unknown.json()).toEqual({ error: 'No host named "nope"' });
  });

  it("reads a dcgm-exporter host: online with its GPUs, stored per host, unreachable when the URL stops answering", async () => {
    process.env.AFS_GPU_INTERVAL_MS = "100";
    const url = await startExporter();
    makeDataDir({ config: { session: { name: "S" }, hosts: [{ name: "rack-3", gpu: `dcgm-exporter:${url}` }], models: [] } });
    await hosts(); // the first read hands the config to the fleet
    startFleet();
    const online = await until(async () => (await hosts()).find((h) => h.name === "rack-3" && h.state === "online" && h.gpus.length));
    expect(online).toMatchObject({ source: "dcgm-exporter", gpu_source: "dcgm-exporter" });
    expect(online.reason).toBeUndefined();
    expect(online.gpus.map((g) => [g.index, g.name, g.utilization])).toEqual([
      [0, "NVIDIA H100 80GB HBM3", 97],
      [1, "NVIDIA H100 80GB HBM3", 0],
    ]);
    const history = await until(async () => {
      const h = await (await call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m&host=rack-3" })).json();
      return h.metrics.length >= 2 ? h : null;
    });
    expect(new Set(history.metrics.map((m: { gpu_index: number }) => m.gpu_index))).toEqual(new Set([0, 1]));
    // This machine's history holds none of them.
    expect((await (await call(getUtilization, { url: "/api/metrics/gpu-utilization?range=15m" })).json()).metrics).toEqual([]);

    exporter!.closeAllConnections();
    await new Promise((resolve) => exporter!.close(resolve));
    exporter = null;
    const down = await until(async () => (await hosts()).find((h) => h.name === "rack-3" && h.state === "unreachable"));
    expect(down.reason).toBeTruthy();
    expect(down.last_seen).not.toBeNull();
  });
});
