import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import Database from "better-sqlite3";
import { afterAll, expect, test } from "vitest";
import { E2E_TOKEN } from "../e2e/support/env";
import { startServer, type RunningServer } from "../e2e/support/server";
import { startSshd, type TestSshd } from "../tests/support/sshd";
import { line, machine, percentile } from "./report";
import {
  collectGpuEvents,
  machineSeconds,
  ownSecondsBetween,
  pidsWithEnv,
  procTree,
  treeSeconds,
  writeEightGpuCapture,
  writeNvidiaSmiWrapper,
  type GpuEventLog,
} from "./support/fleet";
import { rssBytes } from "./support/load";

// 32 hosts × 8 GPUs at 1 s (the default AFS_GPU_INTERVAL_MS) into one server process, over SSH
// on loopback: 4 OpenSSH servers with 8 host entries each, every entry its own SSH connection
// running the fake nvidia-smi. The remote side runs on the same cores as the server, so its CPU
// is measured too, and its shells read no rc files (tests/support/sshd.ts).

const SSHDS = 4;
const HOSTS_PER_SSHD = 8;
const HOSTS = SSHDS * HOSTS_PER_SSHD;
const GPUS = 8;
const WARMUP_LIMIT_S = 240;
const SETTLE_S = 10;
const WINDOW_S = 60;

type Host = { name: string; state: string; reason?: string; gpus: unknown[] };

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const mb = (bytes: number) => `${(bytes / 2 ** 20).toFixed(0)} MB`;
const pctOfCore = (cpuSeconds: number, wallSeconds: number) => `${((cpuSeconds / wallSeconds) * 100).toFixed(0)}% of one core`;
const hostName = (i: number) => `gpu-${String(i).padStart(2, "0")}`;

// What the run started, stopped in afterAll: a test that times out never reaches a finally.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-fleet-bench-"));
const sshds: TestSshd[] = [];
let server: RunningServer | undefined;
let stream: GpuEventLog | undefined;

// SIGTERM, then SIGKILL if the server has not exited within `ms`.
async function stopWithin(s: RunningServer, ms: number) {
  if (s.child.exitCode !== null || s.child.signalCode !== null) return;
  const exited = new Promise((r) => s.child.once("exit", r));
  s.child.kill("SIGTERM");
  const timer = setTimeout(() => s.child.kill("SIGKILL"), ms);
  await exited;
  clearTimeout(timer);
}

afterAll(async () => {
  stream?.close();
  if (server) await stopWithin(server, 20_000);
  for (const sshd of sshds) await sshd.stop();
  // Anything still running with the temp dir in its environment (a remote shell or fake
  // nvidia-smi, whose HOME and capture are in it) is ours.
  for (let round = 0; round < 3; round++) {
    const left = pidsWithEnv({ marker: dir });
    if (!left.length) break;
    for (const pid of left) {
      try {
        process.kill(pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
    await sleep(500);
  }
  fs.rmSync(dir, { recursive: true, force: true });
  for (const sshd of sshds) fs.rmSync(sshd.dir, { recursive: true, force: true });
});

async function hosts(server: RunningServer): Promise<Host[]> {
  const res = await fetch(`${server.url}/api/hosts`, { headers: { authorization: `Bearer ${E2E_TOKEN}` }, signal: AbortSignal.timeout(10_000) });
  return ((await res.json()) as { hosts: Host[] }).hosts.filter((h) => h.name !== "local");
}

test(`fleet: ${HOSTS} hosts × ${GPUS} GPUs at 1 s over loopback SSH into one server`, async () => {
  console.log(`\nFleet (${machine()})`);
  delete process.env.DATABASE_URL;
  const dataDir = path.join(dir, "data");
  fs.mkdirSync(dataDir);
  const capture = path.join(dir, "stream_8gpu.csv");
  writeEightGpuCapture({ file: capture, gpus: GPUS });
  const nvidiaSmi = path.join(dir, "nvidia-smi");
  writeNvidiaSmiWrapper({ file: nvidiaSmi, capture });

  for (let i = 0; i < SSHDS; i++) sshds.push(await startSshd());
  const keyFile = path.join(dir, "id_ed25519");
  fs.writeFileSync(keyFile, sshds[0].clientKey, { mode: 0o600 });
  // One client key for every sshd, as in e2e/fleet.spec.ts.
  for (const sshd of sshds.slice(1)) fs.copyFileSync(path.join(sshds[0].dir, "authorized_keys"), path.join(sshd.dir, "authorized_keys"));
  const knownHosts = path.join(dir, "known_hosts");
  fs.writeFileSync(knownHosts, sshds.map((s) => s.knownHostsLine()).join("\n") + "\n");
  const config = {
    session: { name: "Fleet bench", default_cost_per_hour: 2 },
    hosts: Array.from({ length: HOSTS }, (_, i) => {
      const sshd = sshds[Math.floor(i / HOSTS_PER_SSHD)];
      return { name: hostName(i), ssh: `${sshd.user}@127.0.0.1:${sshd.port}`, nvidia_smi: nvidiaSmi, cost_per_hour: 2.5 };
    }),
    models: [],
  };
  fs.writeFileSync(path.join(dataDir, "afs.config.json"), JSON.stringify(config, null, 2));

  // --- warm-up: every host online with its 8 GPUs ---
  const started = performance.now();
  server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: "off", AFS_SSH_KEY: keyFile, AFS_SSH_KNOWN_HOSTS: knownHosts } });
  const serverPid = server.child.pid!;
  let ready: Host[] = [];
  while ((performance.now() - started) / 1000 < WARMUP_LIMIT_S) {
    ready = await hosts(server).catch(() => []);
    if (ready.length === HOSTS && ready.every((h) => h.state === "online" && h.gpus.length === GPUS)) break;
    await sleep(500);
  }
  const notReady = ready.filter((h) => h.state !== "online" || h.gpus.length !== GPUS);
  expect(notReady.map((h) => `${h.name}: ${h.state}, ${h.gpus.length} GPUs ${h.reason ?? ""}`), `every host online with ${GPUS} GPUs in ${WARMUP_LIMIT_S} s`).toEqual([]);
  expect(ready).toHaveLength(HOSTS);
  const warmS = (performance.now() - started) / 1000;
  await sleep(SETTLE_S * 1000);

  // --- the window ---
  // The listening sshd processes: this process's children named sshd; each connection's sshd is below one.
  const sshdRoots = [...procTree({ roots: [process.pid] }).values()].filter((p) => p.ppid === process.pid && p.comm === "sshd").map((p) => p.pid);
  expect(sshdRoots).toHaveLength(SSHDS);
  stream = await collectGpuEvents({ url: `${server.url}/api/stream`, token: E2E_TOKEN });
  const logFrom = sshds.map((s) => s.log().length);
  const serverBefore = procTree({ roots: [serverPid] });
  const remoteBefore = procTree({ roots: sshdRoots });
  const machineBefore = machineSeconds();
  const benchBefore = process.cpuUsage();
  const rssStart = rssBytes(serverPid) ?? 0;
  const t0 = Date.now();
  let rssPeak = rssStart;
  const sampler = setInterval(() => (rssPeak = Math.max(rssPeak, rssBytes(serverPid) ?? 0)), 1000);
  await sleep(WINDOW_S * 1000);
  clearInterval(sampler);
  const t1 = Date.now();
  const serverAfter = procTree({ roots: [serverPid] });
  const remoteAfter = procTree({ roots: sshdRoots });
  const machineAfter = machineSeconds();
  const bench = process.cpuUsage(benchBefore);
  const rssEnd = rssBytes(serverPid) ?? 0;
  stream.close();
  const wallS = (t1 - t0) / 1000;

  // Events of the window. One that carries a newer sampled_at for its host than any before is a
  // sample's event, its delay receipt − sampled_at; the others (a process list, a state change)
  // repeat the newest sample.
  const events = stream.events.filter((e) => e.receivedAt >= t0 && e.receivedAt < t1);
  const newest = new Map<string, number>();
  for (const e of stream.events.filter((e) => e.receivedAt < t0)) if (e.sampledAt !== null) newest.set(e.host, Math.max(newest.get(e.host) ?? 0, e.sampledAt));
  const delays: number[] = [];
  let repeats = 0;
  for (const e of events) {
    if (e.sampledAt === null || e.sampledAt <= (newest.get(e.host) ?? -Infinity)) {
      repeats++;
      continue;
    }
    newest.set(e.host, e.sampledAt);
    delays.push(e.receivedAt - e.sampledAt);
  }
  const perHost = config.hosts.map((h) => events.filter((e) => e.host === h.name).length).sort((a, b) => a - b);
  const notOk = events.filter((e) => e.status !== "ok" || e.gpus !== GPUS).length;

  // Rows stored for samples taken in the window; the writer flushes once a second.
  await sleep(3000);
  const db = new Database(path.join(dataDir, ".afs", "afs.db"), { readonly: true });
  let stored: { rows: number; hosts: number };
  try {
    stored = db.prepare("SELECT COUNT(*) AS rows, COUNT(DISTINCT host) AS hosts FROM gpu_samples WHERE at >= ? AND at < ?").get(t0, t1) as typeof stored;
  } finally {
    db.close();
  }
  const execs = sshds.reduce((n, s, i) => n + (s.log().slice(logFrom[i]).match(/Starting session: command/g)?.length ?? 0), 0);

  const serverS = treeSeconds(serverAfter) - treeSeconds(serverBefore);
  const remoteS = treeSeconds(remoteAfter) - treeSeconds(remoteBefore);
  const streams = ownSecondsBetween(remoteBefore, remoteAfter, (p) => p.cmdline.includes("--query-gpu"));
  const sshdOwn = ownSecondsBetween(remoteBefore, remoteAfter, (p) => p.comm.startsWith("sshd"));
  const machineBusyS = machineAfter.busy - machineBefore.busy;
  const machineTotalS = machineAfter.total - machineBefore.total;
  const benchS = (bench.user + bench.system) / 1e6;
  const serverProcs = [...serverAfter.values()].map((p) => `${p.pid} ${p.cmdline.startsWith("next-server") ? p.cmdline : p.comm}`).join(", ");

  line(`${HOSTS} hosts × ${GPUS} GPUs, 1 s interval`, `${SSHDS} sshd × ${HOSTS_PER_SSHD} host entries, one SSH connection each, fake nvidia-smi on the 8-GPU capture`);
  line("warm-up: every host online with 8 GPUs", `${warmS.toFixed(1)} s after the server was started, then ${SETTLE_S} s settling`);
  line("window", `${wallS.toFixed(1)} s`);
  line("server CPU", `${pctOfCore(serverS, wallS)} (${serverS.toFixed(1)} CPU s; processes: ${serverProcs})`);
  line("server RSS at start / end of window (peak)", `${mb(rssStart)} / ${mb(rssEnd)} (${mb(rssPeak)})`);
  line("remote side CPU (sshd trees)", `${pctOfCore(remoteS, wallS)} (${remoteS.toFixed(1)} CPU s), of which:`);
  line("  sshd processes' own", `${pctOfCore(sshdOwn.seconds, wallS)} (${sshdOwn.count} processes)`);
  line("  fake nvidia-smi streams", `${pctOfCore(streams.seconds, wallS)} (${streams.count} processes)`);
  line("  exec'd and finished (apps queries)", `${pctOfCore(remoteS - sshdOwn.seconds - streams.seconds, wallS)} (${execs} exec channels opened in the window)`);
  line("bench process (SSE client)", pctOfCore(benchS, wallS));
  line("whole machine busy", `${((machineBusyS / machineTotalS) * 100).toFixed(0)}% of ${os.cpus().length} cores (${(machineBusyS / wallS).toFixed(2)} cores)`);
  line("  other work on this machine", pctOfCore(machineBusyS - serverS - remoteS - benchS, wallS));
  line("gpu events received", `${events.length.toLocaleString("en")} (${(events.length / wallS).toFixed(1)}/s): ${delays.length.toLocaleString("en")} with a new sample, ${repeats} repeating one`);
  line("  per host (min / median / max)", `${perHost[0]} / ${perHost[perHost.length >> 1]} / ${perHost.at(-1)}`);
  line("  not ok or not 8 GPUs", String(notOk));
  line("delay sample timestamp → SSE event", delays.length ? `p50 ${percentile(delays, 50)} ms, p99 ${percentile(delays, 99)} ms, max ${Math.max(...delays)} ms` : "no events");
  line("GPU samples stored (gpu_samples rows)", `${stored.rows.toLocaleString("en")} for the window, ${(stored.rows / wallS).toFixed(1)}/s from ${stored.hosts} hosts (${HOSTS * GPUS}/s expected)`);
  line("server log lines mentioning errors", String(server.output().split("\n").filter((l) => /error/i.test(l)).length));

  expect(stream.error()).toBeNull();
  expect(delays.length).toBeGreaterThan(0);
}, 560_000);
