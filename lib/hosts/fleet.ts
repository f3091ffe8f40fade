import "server-only";
import path from "node:path";
import { getEnv } from "@/lib/env";
import { round } from "@/lib/numbers";
import { describeError } from "@/lib/errors";
import { publishEvent } from "@/lib/events";
import { LatestReadings } from "@/lib/gpu/latest-readings";
import { startNvidiaSmi } from "@/lib/gpu/nvidia-smi";
import { getGpuSnapshot } from "@/lib/gpu/poller";
import { startGpuSampleWriter, type GpuSampleWriter } from "@/lib/gpu/sample-writer";
import type { GpuSnapshot } from "@/lib/gpu/types";
import type { Snapshot } from "@/lib/models";
import type { Host, HostState } from "@/lib/schemas/api";
import { LOCAL_HOST, type AfsConfig, type HostConfig } from "@/lib/schemas/config";
import { loadHostKeys, pinHostKey } from "@/lib/store/host-keys";
import { forgetRemoteFiles, loadRemoteFiles, saveRemoteFiles } from "@/lib/store/remote-files";
import { pollDcgm } from "./dcgm";
import { hostKeyName, parseKnownHosts, readKnownHosts } from "./known-hosts";
import { startRunSync } from "./run-sync";
import { connectHost, readSshEnv, type HostConnection } from "./ssh";
import { sshRunner } from "./ssh-runner";

// The job that reads the remote hosts: one process per store does it (see holdJob); the others
// hear the hosts' views from it.
export const FLEET_JOB = "fleet";

// What the dashboard knows of a remote host now: how it answers, and its GPUs' newest readings.
export type HostView = { state: HostState; reason?: string; last_seen: string | null; gpu: GpuSnapshot; runs?: Host["runs"] };

type Worker = { signature: string; view: () => HostView; stop: () => Promise<void> };

type Fleet = {
  dataDir: string;
  hosts: HostConfig[];
  // Model keys per host, from the config.
  models: Map<string, string[]>;
  running: boolean;
  workers: Map<string, Worker>;
  // Views of the hosts another process reads (several servers on one PostgreSQL store).
  heard: Map<string, HostView>;
  writer: GpuSampleWriter | null;
  onRuns: () => void;
  listeners: Set<(host: string, view: HostView) => void>;
};

const g = globalThis as typeof globalThis & { __afsFleet?: Fleet };
const fleet = (g.__afsFleet ??= {
  dataDir: "",
  hosts: [],
  models: new Map(),
  running: false,
  workers: new Map(),
  heard: new Map(),
  writer: null,
  onRuns: () => {},
  listeners: new Set(),
});

// Where a remote host's run folders are copied to: a data dir of its own, so they are read like
// local runs, and kept after the host is gone.
export function hostMirrorDir({ dataDir, host }: { dataDir: string; host: string }): string {
  return path.join(/*turbopackIgnore: true*/ dataDir, ".afs", "hosts", host);
}

// The config's hosts, as the live state reads it; the running fleet starts, restarts and stops
// hosts to match.
export function configureFleet({ dataDir, config }: { dataDir: string; config: AfsConfig }): void {
  fleet.dataDir = dataDir;
  fleet.hosts = config.hosts;
  fleet.models = new Map();
  for (const model of config.models) fleet.models.set(model.host, [...(fleet.models.get(model.host) ?? []), model.key]);
  if (fleet.running) reconcile();
}

// Called when a host's mirrored run files changed, so the live state reads them.
export function onRemoteRuns(listener: () => void): void {
  fleet.onRuns = listener;
}

export function startFleet(): void {
  if (fleet.running) return;
  fleet.running = true;
  fleet.writer = startGpuSampleWriter({ flushIntervalMs: 1000, maxBuffered: getEnv().gpu.bufferSamples });
  reconcile();
}

export async function stopFleet(): Promise<void> {
  fleet.running = false;
  const workers = [...fleet.workers.values()];
  fleet.workers.clear();
  await Promise.all(workers.map((w) => w.stop()));
  await fleet.writer?.stop();
  fleet.writer = null;
}

// Every change of a host's view, from the hosts this process reads.
export function subscribeHostViews(listener: (host: string, view: HostView) => void): () => void {
  fleet.listeners.add(listener);
  return () => fleet.listeners.delete(listener);
}

// A view from the process that reads the host.
export function hearHostView(host: string, view: HostView): void {
  if (fleet.workers.has(host) || !fleet.hosts.some((h) => h.name === host)) return;
  fleet.heard.set(host, view);
  publishEvent({ type: "gpu", data: { ...view.gpu, host } });
}

// One remote host's view: from this process's reader, else from the one that reads it.
export function getHostView(host: string): HostView {
  const worker = fleet.workers.get(host);
  if (worker) return worker.view();
  const heard = fleet.heard.get(host);
  if (heard) return heard;
  const config = fleet.hosts.find((h) => h.name === host);
  const gpu: GpuSnapshot = { source: config?.source === "dcgm-exporter" ? "dcgm-exporter" : "nvidia-smi", status: "starting", sampled_at: null, gpus: [] };
  return { state: "connecting", reason: fleet.running ? undefined : "read by another dashboard process; nothing heard from it yet", last_seen: null, gpu };
}

// Every host the dashboard reads, this machine first, with the models the snapshot puts on it.
export function listHosts({ snapshot }: { snapshot: Snapshot }): Host[] {
  const models = (host: string) => snapshot.models.filter((m) => m.host === host).map((m) => m.key);
  const idle = (host: string) =>
    snapshot.idle.filter((i) => i.host === host).map((i) => ({ index: i.index, since: new Date(i.since).toISOString(), usd_per_hour: round(i.usd_per_hour, 4) }));
  const local = getGpuSnapshot();
  const hosts: Host[] = [{ name: LOCAL_HOST, ...localState(local), source: "local", gpu_source: local.source, sampled_at: local.sampled_at, gpus: local.gpus, cost_per_hour: null, models: models(LOCAL_HOST), idle_gpus: idle(LOCAL_HOST) }];
  for (const config of snapshot.config.hosts) {
    const { state, reason, last_seen, gpu, runs } = getHostView(config.name);
    hosts.push({
      name: config.name,
      state,
      ...(reason ? { reason } : {}),
      last_seen,
      source: config.source,
      gpu_source: config.source === "ssh" ? "nvidia-smi" : "dcgm-exporter",
      sampled_at: gpu.sampled_at,
      gpus: gpu.gpus,
      cost_per_hour: config.cost_per_hour ?? null,
      models: models(config.name),
      idle_gpus: idle(config.name),
      ...(runs ? { runs } : {}),
    });
  }
  return hosts;
}

function localState(gpu: GpuSnapshot): Pick<Host, "state" | "reason" | "last_seen"> {
  const state: HostState = { ok: "online", error: "online", starting: "connecting", stopped: "connecting", unavailable: "no_gpu", off: "no_gpu" }[gpu.status] as HostState;
  const reason = gpu.status === "off" ? "AFS_GPU_SOURCE=off" : gpu.reason;
  return { state, ...(reason ? { reason } : {}), last_seen: gpu.sampled_at };
}

// Starts the hosts that are new or changed, stops those gone from the config.
function reconcile() {
  const wanted = new Map(fleet.hosts.map((h) => [h.name, h]));
  for (const [name, worker] of fleet.workers) {
    const config = wanted.get(name);
    if (config && JSON.stringify(config) === worker.signature) continue;
    fleet.workers.delete(name);
    void worker.stop();
  }
  for (const config of fleet.hosts) {
    if (fleet.workers.has(config.name)) continue;
    fleet.heard.delete(config.name);
    const worker = config.source === "ssh" ? startSshHost(config) : startDcgmHost(config);
    fleet.workers.set(config.name, { ...worker, signature: JSON.stringify(config) });
    changed(config.name);
  }
}

function changed(host: string) {
  const worker = fleet.workers.get(host);
  if (!worker) return;
  const view = worker.view();
  publishEvent({ type: "gpu", data: { ...view.gpu, host } });
  for (const listener of fleet.listeners) listener(host, view);
}

function readingsOf({ host, source }: { host: string; source: GpuSnapshot["source"] }): LatestReadings {
  return new LatestReadings({ source, store: (sample) => fleet.writer?.add({ host, ...sample }), notify: () => changed(host) });
}

function startSshHost(config: HostConfig): Omit<Worker, "signature"> {
  const name = config.name;
  const readings = readingsOf({ host: name, source: "nvidia-smi" });
  let ssh: ReturnType<typeof readSshEnv>;
  try {
    ssh = readSshEnv();
  } catch (error) {
    const view: HostView = { state: "auth_failed", reason: describeError(error), last_seen: null, gpu: readings.snapshot() };
    return { view: () => view, stop: async () => {} };
  }
  const { gpu } = getEnv();
  let online = () => {};
  const conn: HostConnection = connectHost({
    name,
    ssh: config.ssh!,
    auth: ssh.auth,
    knownHosts: async () => [...(await readKnownHosts({ path: ssh.knownHostsPath })), ...(await pinnedKeys())],
    tofuPin: ssh.tofu ? pin : undefined,
    onState: (status) => {
      if (status.state === "online") online();
      changed(name);
    },
  });
  const feed = startNvidiaSmi({
    options: { nvidiaSmi: config.nvidia_smi, intervalMs: gpu.intervalMs, backoffBaseMs: 1000, backoffMaxMs: 60_000, appsIntervalMs: 5000, startupGraceMs: 15_000 },
    state: readings,
    runner: sshRunner({ conn, nvidiaSmi: config.nvidia_smi }),
  });
  const runs = config.runs
    ? startRunSync({
        host: name,
        conn,
        runsDir: config.runs,
        keys: () => fleet.models.get(name) ?? [],
        mirrorDir: hostMirrorDir({ dataDir: fleet.dataDir, host: name }),
        offsets: {
          load: () => loadRemoteFiles({ host: name }),
          save: (files) => saveRemoteFiles({ host: name, files }),
          forget: (paths) => forgetRemoteFiles({ host: name, paths }),
        },
        onChange: () => fleet.onRuns(),
        maxFiles: getEnv().limits.runFiles,
      })
    : null;
  // Back online: nvidia-smi and the runs start at once rather than when their backoff ends.
  online = () => {
    feed.kick();
    void runs?.syncNow();
  };
  return {
    view: () => {
      const link = conn.status();
      const snapshot = readings.snapshot();
      const base = { last_seen: link.last_seen, gpu: snapshot, ...(runs ? { runs: runs.stats() } : {}) };
      if (link.state !== "online") return { ...base, state: link.state, ...(link.reason ? { reason: link.reason } : {}) };
      if (snapshot.status === "unavailable") return { ...base, state: "no_gpu", reason: snapshot.reason };
      return { ...base, state: "online", ...(snapshot.status === "error" ? { reason: snapshot.reason } : {}) };
    },
    stop: async () => {
      await Promise.all([feed.stop(), runs?.stop()]);
      await conn.close();
    },
  };
}

function startDcgmHost(config: HostConfig): Omit<Worker, "signature"> {
  const readings = readingsOf({ host: config.name, source: "dcgm-exporter" });
  const poll = pollDcgm({
    url: config.dcgm_url!,
    intervalMs: getEnv().gpu.intervalMs,
    onReadings: ({ at, readings: batch }) => {
      for (const reading of batch) readings.addReading({ at, reading });
      readings.setStatus({ status: "ok" });
      readings.emit();
    },
    onState: () => changed(config.name),
  });
  return {
    view: () => {
      const { state, reason, last_seen } = poll.state();
      return { state, ...(reason ? { reason } : {}), last_seen, gpu: readings.snapshot() };
    },
    stop: () => poll.stop(),
  };
}

// Keys pinned on first use; a store that does not answer pins nothing, so such a host is refused.
async function pinnedKeys() {
  try {
    return parseKnownHosts({ text: (await loadHostKeys()).map((k) => k.line).join("\n") });
  } catch (error) {
    console.error(`[afs] reading pinned host keys: ${describeError(error)}`);
    return [];
  }
}

// AFS_SSH_TOFU=1: the first key a host presents is stored; the first pin wins, also when two
// processes meet the host at once.
async function pin({ name, host, port, fingerprint, line }: { name: string; host: string; port: number; fingerprint: string; line: string }) {
  const stored = await pinHostKey({ host: hostKeyName({ host, port }), line, fingerprint });
  if (stored.line !== line) return false;
  console.log(`[afs] host ${name}: pinned its key ${fingerprint} (AFS_SSH_TOFU=1)`);
  return true;
}
