import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect, test } from "@playwright/test";
import Database from "better-sqlite3";
import { makeKey, startSshd, type TestSshd } from "../tests/support/sshd";
import { call, FAKE_NVIDIA_SMI, sleep } from "./support/postgres";
import { startServer, stopServer, type RunningServer } from "./support/server";

// Remote GPU hosts over SSH, end to end: the production server reads three real OpenSSH servers
// on loopback, each running the fake nvidia-smi (a real H100 capture) and holding a run folder.

type Host = { name: string; state: string; reason?: string; last_seen: string | null; gpus: { name: string | null; utilization: number | null }[]; models: string[]; runs?: { files: number; bytes_read: number; last_sync: string | null } };
type Scalars = { points: { step: number; value: number }[] };

const NAMES = ["box-a", "box-b", "box-c"] as const;
const H100 = "NVIDIA H100 80GB HBM3";

let dir: string;
let dataDir: string;
let keyFile: string;
let knownHosts: string;
const sshds = new Map<string, TestSshd>();
const runs = new Map<string, string>();
let server: RunningServer;
let step = 0;

// One JSONL row per step; the run on box-a grows by appending them.
const logRow = (n: number) => `${JSON.stringify({ step: n, loss: 2 - n / 1000, time: Date.now() / 1000 })}\n`;
function appendSteps(host: string, count: number): number {
  const rows = Array.from({ length: count }, () => logRow(++step)).join("");
  fs.appendFileSync(path.join(runs.get(host)!, `${host}-model`, "train.jsonl"), rows);
  return Buffer.byteLength(rows);
}

const hosts = async () => (await call<{ hosts: Host[] }>(server, "/api/hosts")).body.hosts;
const host = async (name: string) => (await call<Host>(server, `/api/hosts/${name}`)).body;
const lossSteps = async (key: string) => {
  const { status, body } = await call<Scalars>(server, `/api/models/${key}/scalars?tag=loss&points=100000`);
  return status === 200 ? body.points.map((p) => p.step) : [];
};

function writeConfig() {
  const config = {
    session: { name: "Fleet", default_cost_per_hour: 2 },
    hosts: NAMES.map((name) => ({
      name,
      ssh: `${sshds.get(name)!.user}@127.0.0.1:${sshds.get(name)!.port}`,
      runs: runs.get(name),
      nvidia_smi: FAKE_NVIDIA_SMI,
      cost_per_hour: 1.1,
    })),
    models: NAMES.map((name) => ({ key: `${name}-model`, name: `Model on ${name}`, host: name })),
  };
  fs.writeFileSync(path.join(dataDir, "afs.config.json"), JSON.stringify(config, null, 2));
}

const start = () =>
  startServer({ dataDir, env: { AFS_GPU_SOURCE: "off", AFS_SSH_KEY: keyFile, AFS_SSH_KNOWN_HOSTS: knownHosts, AFS_RESCAN_SECONDS: "60" } });

test.describe("remote GPU hosts over SSH", () => {
  test.describe.configure({ mode: "serial" });

  test.beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-fleet-"));
    dataDir = path.join(dir, "data");
    fs.mkdirSync(dataDir);
    for (const name of NAMES) {
      const sshd = await startSshd();
      sshds.set(name, sshd);
      const remote = path.join(dir, `remote-${name}`);
      fs.mkdirSync(path.join(remote, `${name}-model`), { recursive: true });
      runs.set(name, remote);
    }
    keyFile = path.join(dir, "id_ed25519");
    fs.writeFileSync(keyFile, sshds.get("box-a")!.clientKey, { mode: 0o600 });
    // One client key for every host: each sshd authorizes its own, so box-b and box-c get box-a's.
    for (const name of ["box-b", "box-c"]) fs.copyFileSync(path.join(sshds.get("box-a")!.dir, "authorized_keys"), path.join(sshds.get(name)!.dir, "authorized_keys"));
    knownHosts = path.join(dir, "known_hosts");
    fs.writeFileSync(knownHosts, NAMES.map((n) => sshds.get(n)!.knownHostsLine()).join("\n") + "\n");
    appendSteps("box-a", 20);
    writeConfig();
    server = await start();
  });

  test.afterAll(async () => {
    if (server) await stopServer(server);
    for (const sshd of sshds.values()) await sshd.stop();
  });

  test("three hosts at once: each online with the capture's GPU and its model", async () => {
    await expect
      .poll(async () => (await hosts()).map((h) => [h.name, h.state, h.gpus[0]?.name ?? null]), { timeout: 30_000, message: "every host online with its GPU" })
      .toEqual([["local", "no_gpu", null], ...NAMES.map((n) => [n, "online", H100])]);
    const all = await hosts();
    for (const name of NAMES) expect(all.find((h) => h.name === name)).toMatchObject({ models: [`${name}-model`], cost_per_hour: 1.1 });
    // The model's cost comes from its host's rate.
    const status = (await call<{ models: { key: string; host: string; cost_per_hour: number }[] }>(server, "/api/models/status")).body.models;
    expect(status.map((m) => [m.key, m.host, m.cost_per_hour])).toEqual(NAMES.map((n) => [`${n}-model`, n, 1.1]));
    await expect.poll(() => lossSteps("box-a-model"), { timeout: 10_000 }).toEqual(Array.from({ length: 20 }, (_, i) => i + 1));
  });

  test("a run file growing remotely: new points within 5 s", async () => {
    const before = (await lossSteps("box-a-model")).length;
    const started = Date.now();
    appendSteps("box-a", 5);
    await expect.poll(async () => (await lossSteps("box-a-model")).length, { timeout: 5000, intervals: [100] }).toBe(before + 5);
    console.log(`remote append to points on the API: ${Date.now() - started} ms`);
  });

  test("sshd killed: unreachable within 30 s, online again after it restarts, no duplicate samples, no lost points", async () => {
    test.setTimeout(150_000);
    const sshd = sshds.get("box-a")!;
    await sshd.stop();
    const killed = Date.now();
    await expect.poll(async () => (await host("box-a")).state, { timeout: 30_000, intervals: [250] }).toBe("unreachable");
    console.log(`sshd killed to unreachable: ${Date.now() - killed} ms`);
    expect((await host("box-a")).reason).toBeTruthy();
    // A box that is gone keeps what was read from it: its curve and its GPU history.
    expect(await lossSteps("box-a-model")).toEqual(Array.from({ length: step }, (_, i) => i + 1));
    expect((await call<{ metrics: unknown[] }>(server, "/api/metrics/gpu-utilization?host=box-a&range=15m")).body.metrics.length).toBeGreaterThan(0);
    // Written while the host cannot be read: copied once it is back.
    appendSteps("box-a", 7);
    await sshd.restart();
    await expect.poll(async () => (await host("box-a")).state, { timeout: 70_000, intervals: [500] }).toBe("online");
    await expect.poll(() => lossSteps("box-a-model"), { timeout: 10_000 }).toEqual(Array.from({ length: step }, (_, i) => i + 1));
    const back = Date.now();
    // Every sample stored once: per GPU, no two closer than the 1 s interval allows.
    const samples = () => {
      const db = new Database(path.join(dataDir, ".afs", "afs.db"), { readonly: true });
      try {
        return db.prepare("SELECT at FROM gpu_samples WHERE host = 'box-a' AND gpu_index = 0 ORDER BY at").pluck().all() as number[];
      } finally {
        db.close();
      }
    };
    await expect.poll(() => samples().filter((at) => at > back).length, { timeout: 20_000, message: "samples since the host is back" }).toBeGreaterThanOrEqual(3);
    const times = samples();
    const gaps = times.slice(1).map((t, i) => t - times[i]);
    expect(Math.min(...gaps)).toBeGreaterThan(500);
    const history = await call<{ metrics: unknown[]; source: string }>(server, "/api/metrics/gpu-utilization?host=box-a&range=15m");
    expect(history.body).toMatchObject({ source: "nvidia-smi" });
    expect(history.body.metrics.length).toBeGreaterThan(0);
  });

  test("a changed host key: host_key_mismatch with both fingerprints, and no connection", async () => {
    const sshd = sshds.get("box-b")!;
    await sshd.restart({ rotateHostKey: true });
    const logFrom = sshd.log().length;
    await expect.poll(async () => (await host("box-b")).state, { timeout: 30_000, intervals: [250] }).toBe("host_key_mismatch");
    const { reason } = await host("box-b");
    expect(reason?.match(/SHA256:[A-Za-z0-9+/]{43}/g)).toHaveLength(2);
    await sleep(3000);
    expect(sshd.log().slice(logFrom)).not.toMatch(/Accepted publickey/);
  });

  test("a key not authorized: auth_failed", async () => {
    const sshd = sshds.get("box-c")!;
    const other = makeKey({ dir, name: "stranger" });
    fs.copyFileSync(`${other}.pub`, path.join(sshd.dir, "authorized_keys"));
    await sshd.restart();
    await expect.poll(async () => (await host("box-c")).state, { timeout: 30_000, intervals: [250] }).toBe("auth_failed");
  });

  test("a dashboard restart resumes from the stored offsets: nothing copied again, no point twice", async () => {
    test.setTimeout(90_000);
    const steps = await lossSteps("box-a-model");
    await stopServer(server);
    server = await start();
    await expect.poll(async () => (await host("box-a")).runs?.last_sync ?? null, { timeout: 30_000 }).not.toBeNull();
    const { runs: synced } = await host("box-a");
    expect(synced).toMatchObject({ files: 1, bytes_read: 0 });
    expect(await lossSteps("box-a-model")).toEqual(steps);
    // Only what was appended since is copied.
    const appended = appendSteps("box-a", 3);
    await expect.poll(async () => (await host("box-a")).runs?.bytes_read, { timeout: 10_000 }).toBe(appended);
    await expect.poll(() => lossSteps("box-a-model"), { timeout: 10_000 }).toEqual([...steps, step - 2, step - 1, step]);
  });
});
