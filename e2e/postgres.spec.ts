import fs from "node:fs";
import { expect, test } from "@playwright/test";
import { createDatabase, pgQuery, startPostgres, type PostgresServer } from "../tests/support/postgres";
import { copyDemoData } from "./support/env";
import {
  alive,
  call,
  childrenOf,
  FAKE_GPU_ENV,
  GPU_POLLER_JOB,
  health,
  openStream,
  postStatus,
  runUntilExit,
  sleep,
  type LiveStream,
} from "./support/postgres";
import { startServer, stopServer, type RunningServer } from "./support/server";

// The production server on a PostgreSQL store (DATABASE_URL): several processes acting as one
// dashboard, the database going away and coming back, and URLs that cannot work. Each describe
// has an embedded PostgreSQL of its own; each test a database of its own on it.

type ModelStatus = { key: string; status: string; progress: number; gpu_hours: number; total_cost: number; [field: string]: unknown };
type GpuSnapshot = { source: string; status: string; sampled_at: string | null; gpus: unknown[] };
type GpuHistory = { metrics: { timestamp: string; gpu_index: number; utilization: number | null }[]; source: string };

const UPKEEP = "upkeep";
const FLEET = "fleet";
const ALERTS = "alerts";
// The models of the bundled demo data.
const DEMO_MODELS = ["majora-v1", "veran-v5", "kestrel-v2", "orin-v3", "sable-v1"];

const count = async (url: string, text: string, params: unknown[] = []) => Number((await pgQuery<{ n: string }>(url, text, params))[0].n);

// Starts servers together; if one fails the others are stopped before the error is thrown.
async function startAll(options: Parameters<typeof startServer>[0][], into: RunningServer[]): Promise<RunningServer[]> {
  const results = await Promise.allSettled(options.map((o) => startServer(o)));
  for (const r of results) if (r.status === "fulfilled") into.push(r.value);
  const failed = results.find((r) => r.status === "rejected");
  if (failed) throw failed.reason;
  return results.map((r) => (r as PromiseFulfilledResult<RunningServer>).value);
}

async function expectHealthy(server: RunningServer, timeout = 15_000) {
  await expect
    .poll(async () => {
      const h = await health(server, 5000);
      return { status: h.status, ok: h.body?.store?.ok, engine: h.body?.store?.engine };
    }, { timeout, message: `${server.url}/api/health` })
    .toEqual({ status: 200, ok: true, engine: "postgres" });
}

// What two processes must agree on about a model. gpu_hours and total_cost accrue with the clock
// for a running model, so they are compared apart, allowing the second or two between the reads.
function agreed(models: ModelStatus[]) {
  return models.map(({ gpu_hours: _h, total_cost: _c, ...rest }) => rest);
}

test.describe("two production servers on one PostgreSQL database", () => {
  let postgres: PostgresServer;
  test.beforeAll(async () => {
    postgres = await startPostgres();
  });
  test.afterAll(async () => {
    await postgres?.stop();
  });

  test("act as one dashboard: each other's writes, the live stream, one upkeep and one GPU poller, and a takeover after SIGKILL", async () => {
    test.setTimeout(90_000);
    const url = await createDatabase(postgres.adminUrl);
    const dataDir = copyDemoData();
    const env = { DATABASE_URL: url, ...FAKE_GPU_ENV };
    const servers: RunningServer[] = [];
    const orphans = new Set<number>();
    let stream: LiveStream | undefined;
    try {
      const [a, b] = await startAll([{ dataDir, env }, { dataDir, env }], servers);
      await Promise.all([expectHealthy(a), expectHealthy(b)]);

      // Exactly one of them runs the upkeep, the fleet and the alerts, and exactly one polls this
      // host's GPUs.
      const jobsOf = async (s: RunningServer) => (await health(s)).body?.store?.jobs ?? [];
      await expect
        .poll(async () => [...(await jobsOf(a)), ...(await jobsOf(b))].sort(), { timeout: 10_000, message: "the jobs both processes hold, together" })
        .toEqual([GPU_POLLER_JOB, UPKEEP, FLEET, ALERTS].sort());
      const poller = (await jobsOf(a)).includes(GPU_POLLER_JOB) ? a : b;
      const other = poller === a ? b : a;
      expect(await jobsOf(other)).not.toContain(GPU_POLLER_JOB);

      // Read-your-writes across processes, both ways, within a second of the acknowledgement.
      for (const [from, to, progress] of [[a, b, 12.5], [b, a, 37.5]] as const) {
        const write = await postStatus(from, { model_key: "orin-v3", status: "running", progress });
        expect(write.status, write.text).toBe(200);
        expect(write.body).toMatchObject({ key: "orin-v3", status: "running", progress });
        await expect
          .poll(async () => {
            const r = await call<ModelStatus>(to, "/api/models/orin-v3/status", { limitMs: 1000 });
            return r.status === 200 ? { status: r.body.status, progress: r.body.progress } : r.text;
          }, { timeout: 1000, intervals: [25], message: `the write to ${from.url} read on ${to.url}` })
          .toEqual({ status: "running", progress });
      }

      // A status written to A is a `status` event on B's live stream within a second.
      stream = await openStream(b);
      expect(stream.status).toBe(200);
      await expect.poll(() => stream!.connected(), { timeout: 5000 }).toBe(true);
      const streamed = await postStatus(a, { model_key: "sable-v1", status: "paused", progress: 61.5 });
      expect(streamed.status, streamed.text).toBe(200);
      await expect
        .poll(() => stream!.events.find((e) => e.type === "status" && (e.data as ModelStatus).key === "sable-v1" && (e.data as ModelStatus).progress === 61.5)?.data ?? null, {
          timeout: 1000,
          intervals: [25],
          message: "a status event for sable-v1 on B's stream",
        })
        .toMatchObject({ key: "sable-v1", status: "paused", progress: 61.5 });
      stream.close();

      // Both answer the same models.
      const [ma, mb] = await Promise.all([a, b].map((s) => call<{ models: ModelStatus[] }>(s, "/api/models/status")));
      expect(ma.status, ma.text).toBe(200);
      expect(mb.status, mb.text).toBe(200);
      expect(ma.body.models.map((m) => m.key)).toEqual(DEMO_MODELS);
      expect(agreed(mb.body.models)).toEqual(agreed(ma.body.models));
      for (const [i, m] of ma.body.models.entries()) {
        expect(Math.abs(mb.body.models[i].gpu_hours - m.gpu_hours), `${m.key} gpu_hours`).toBeLessThanOrEqual(0.01);
        expect(Math.abs(mb.body.models[i].total_cost - m.total_cost), `${m.key} total_cost`).toBeLessThanOrEqual(0.05);
      }

      // The poller's samples are in the other's GPU history, and the other answers its live readings.
      await expect
        .poll(async () => {
          const r = await call<GpuHistory>(other, "/api/metrics/gpu-utilization?range=1h");
          if (r.status !== 200) return `${r.status} ${r.text}`;
          const newest = r.body.metrics.at(-1);
          return { points: r.body.metrics.length, fresh: !!newest && Date.now() - Date.parse(newest.timestamp) < 15_000 };
        }, { timeout: 15_000, message: "GPU history on the process that does not poll" })
        .toEqual({ points: expect.any(Number), fresh: true });
      // Each point is a sample the poller's process stored (points are picked samples, one or two
      // per bucket of 1h/250, so a few seconds of history are one or two points).
      const history = await call<GpuHistory>(other, "/api/metrics/gpu-utilization?range=1h");
      expect(history.body.metrics.length).toBeGreaterThanOrEqual(1);
      for (const p of history.body.metrics) {
        expect(p).toMatchObject({ gpu_index: 0, utilization: expect.any(Number) });
        expect(await count(url, "SELECT count(*) AS n FROM gpu_samples WHERE gpu_index = 0 AND at = $1", [Date.parse(p.timestamp)]), `a stored sample at ${p.timestamp}`).toBe(1);
      }
      const shared = await call<GpuSnapshot>(other, "/api/gpus");
      expect(shared.body).toMatchObject({ source: "nvidia-smi", status: "ok" });
      expect(shared.body.gpus).toHaveLength(1);

      // SIGKILL the poller's process: the survivor takes its jobs within 10 s and polls itself.
      for (const pid of childrenOf(poller.child.pid!)) orphans.add(pid);
      expect(orphans.size, "the poller's nvidia-smi").toBeGreaterThan(0);
      await stopServer(poller, "SIGKILL");
      const killedAt = Date.now();
      await expect
        .poll(async () => (await jobsOf(other)).sort(), { timeout: 10_000, intervals: [250], message: "the survivor's jobs" })
        .toEqual([GPU_POLLER_JOB, UPKEEP, FLEET, ALERTS].sort());
      const tookOverMs = Date.now() - killedAt;
      const fresh = async () => {
        const r = await call<GpuSnapshot>(other, "/api/gpus");
        return r.body?.status === "ok" && r.body.sampled_at && Date.now() - Date.parse(r.body.sampled_at) < 3000 ? r.body.sampled_at : null;
      };
      let first: string | null = null;
      await expect.poll(async () => (first = await fresh()), { timeout: 10_000, message: "a fresh reading on the survivor" }).not.toBeNull();
      let second: string | null = null;
      await expect
        .poll(async () => {
          second = await fresh();
          return second !== null && Date.parse(second) > Date.parse(first!);
        }, { timeout: 5000, message: `sampled_at advancing past ${first}` })
        .toBe(true);
      expect((await call<GpuSnapshot>(other, "/api/gpus")).body).toMatchObject({ source: "nvidia-smi", status: "ok" });
      console.log(`takeover after SIGKILL: jobs in ${tookOverMs} ms`);
      // The survivor stores its own samples.
      const before = await count(url, "SELECT count(*) AS n FROM gpu_samples WHERE at > $1", [killedAt]);
      await expect.poll(() => count(url, "SELECT count(*) AS n FROM gpu_samples WHERE at > $1", [killedAt]), { timeout: 5000 }).toBeGreaterThan(before);
    } finally {
      stream?.close();
      await Promise.all(servers.map((s) => stopServer(s)));
      // A SIGKILLed server cannot end its nvidia-smi; it must end by itself once its pipe is gone.
      await sleep(500);
      const left = [...orphans].filter(alive);
      for (const pid of left) process.kill(pid, "SIGKILL");
      fs.rmSync(dataDir, { recursive: true, force: true });
      expect.soft(left, "nvidia-smi children the SIGKILLed server left running").toEqual([]);
    }
  });
});

test.describe("PostgreSQL going away and coming back", () => {
  let postgres: PostgresServer;
  let paused = false;
  test.beforeAll(async () => {
    postgres = await startPostgres();
  });
  test.afterAll(async () => {
    if (paused) await postgres?.resume();
    await postgres?.stop();
  });
  const pause = async () => {
    await postgres.pause();
    paused = true;
  };
  const resume = async () => {
    await postgres.resume();
    paused = false;
  };

  test("stopped mid-run: 503s while it is away, recovery without a restart, nothing acknowledged lost, GPU samples kept", async () => {
    test.setTimeout(90_000);
    const url = await createDatabase(postgres.adminUrl);
    const dataDir = copyDemoData();
    let server: RunningServer | undefined;
    let writing = true;
    let writer: Promise<void> = Promise.resolve();
    try {
      server = await startServer({ dataDir, env: { DATABASE_URL: url, ...FAKE_GPU_ENV } });
      const s = server;
      await expectHealthy(s);
      expect((await call(s, "/api/models/status")).status).toBe(200); // the state is read once
      await expect.poll(() => count(url, "SELECT count(*) AS n FROM gpu_samples"), { timeout: 10_000, message: "GPU samples stored" }).toBeGreaterThan(0);

      // One writer posts back to back through the whole outage; each answer is kept with its times.
      type Write = { progress: number; status: number; error?: string; started: number; ended: number };
      const writes: Write[] = [];
      let next = 0;
      writer = (async () => {
        while (writing) {
          const progress = next++;
          const started = Date.now();
          const r = await postStatus(s, { model_key: "orin-v3", status: "paused", progress: progress / 10 });
          writes.push({ progress, status: r.status, error: (r.body as { error?: string } | null)?.error ?? r.text.slice(0, 200), started, ended: Date.now() });
          await sleep(50);
        }
      })();
      await expect.poll(() => writes.filter((w) => w.status === 200).length, { timeout: 10_000 }).toBeGreaterThanOrEqual(5);

      await pause();
      const down = Date.now();
      await expect
        .poll(async () => {
          const h = await health(s, 8000);
          return { status: h.status, ok: h.body?.store?.ok };
        }, { timeout: 5000, intervals: [100], message: "health once PostgreSQL is stopped" })
        .toEqual({ status: 503, ok: false });
      const unhealthyMs = Date.now() - down;
      const h = await health(s);
      expect(h.body.store.error, "store.error").toBeTruthy();
      for (let i = 0; i < 3; i++) {
        const w = await postStatus(s, { model_key: "veran-v5", status: "running", progress: 99.9 });
        expect(w.status, w.text).toBe(503);
        expect(w.body).toMatchObject({ error: "store_unavailable", details: expect.any(String) });
      }
      const gpuHistory = await call(s, "/api/metrics/gpu-utilization?range=1h");
      expect(gpuHistory.status, gpuHistory.text).toBe(503);
      expect(gpuHistory.body).toMatchObject({ error: "store_unavailable" });
      // Read once, the models are answered from memory while the store is away.
      const models = await call<{ models: ModelStatus[] }>(s, "/api/models/status");
      expect(models.status, models.text).toBe(200);
      expect(models.body.models.map((m) => m.key)).toEqual(DEMO_MODELS);
      // Samples keep coming while it is away: the live readings go on, the samples wait in
      // memory, and health says how many.
      await sleep(Math.max(0, down + 5000 - Date.now()));
      const live = await call<GpuSnapshot>(s, "/api/gpus");
      expect(live.body, "/api/gpus while PostgreSQL is stopped").toMatchObject({ source: "nvidia-smi", status: "ok" });
      expect(Date.now() - Date.parse(live.body?.sampled_at ?? ""), "age of the live reading while PostgreSQL is stopped (ms)").toBeLessThan(3000);
      await expect
        .poll(async () => {
          const warnings = (await health(s)).body?.warnings ?? [];
          return warnings.find((w) => /gpu: \d+ samples kept in memory/.test(w)) ?? warnings; // the list, so a failure shows it
        }, { timeout: 3000, message: "health's count of GPU samples waiting in memory" })
        .toEqual(expect.stringMatching(/gpu: \d+ samples kept in memory/));

      const up = Date.now();
      await resume();
      await expectHealthy(s, 15_000);
      const recoveredMs = Date.now() - up;
      const after = await postStatus(s, { model_key: "kestrel-v2", status: "completed", progress: 100 });
      expect(after.status, after.text).toBe(200);
      expect(await count(url, "SELECT count(*) AS n FROM status_updates WHERE model_key = 'kestrel-v2' AND source = 'api' AND progress = 100")).toBe(1);
      // The writer is acknowledged again too.
      const acknowledgedBefore = writes.filter((w) => w.status === 200 && w.started > up).length;
      await expect.poll(() => writes.filter((w) => w.status === 200 && w.started > up).length, { timeout: 5000 }).toBeGreaterThan(acknowledgedBefore);
      writing = false;
      await writer;

      // Only 200s and 503 store_unavailable; none acknowledged while PostgreSQL was stopped; every
      // acknowledged update stored.
      expect(writes.filter((w) => w.status !== 200 && !(w.status === 503 && w.error === "store_unavailable"))).toEqual([]);
      expect(writes.filter((w) => w.status === 200 && w.started >= down && w.ended <= up)).toEqual([]);
      expect(writes.filter((w) => w.status === 503).length, "writes refused during the outage").toBeGreaterThan(0);
      const stored = new Set(
        (await pgQuery<{ progress: number }>(url, "SELECT progress FROM status_updates WHERE model_key = 'orin-v3' AND source = 'api'")).map((r) => r.progress),
      );
      const lost = writes.filter((w) => w.status === 200 && !stored.has(w.progress / 10)).map((w) => w.progress);
      expect(lost, "acknowledged updates not stored").toEqual([]);

      // The samples taken while it was down reach the store: about one a second.
      const outageSeconds = (up - down) / 1000;
      await expect
        .poll(() => count(url, "SELECT count(*) AS n FROM gpu_samples WHERE at >= $1 AND at <= $2", [down, up]), {
          timeout: 10_000,
          message: `GPU samples stored from the ${outageSeconds.toFixed(1)} s outage`,
        })
        .toBeGreaterThanOrEqual(Math.floor(outageSeconds) - 1);
      expect((await call(s, "/api/metrics/gpu-utilization?range=1h")).status).toBe(200);
      console.log(`outage: unhealthy after ${unhealthyMs} ms, healthy again ${recoveredMs} ms after the restart, ${writes.length} writes`);
    } finally {
      writing = false;
      await writer.catch(() => {});
      if (server) await stopServer(server);
      if (paused) await resume();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });

  test("a server started while PostgreSQL is down starts, answers 503 quickly, and recovers once it is up", async () => {
    test.setTimeout(60_000);
    const url = await createDatabase(postgres.adminUrl);
    const dataDir = copyDemoData();
    let server: RunningServer | undefined;
    try {
      await pause();
      server = await startServer({ dataDir, env: { DATABASE_URL: url, AFS_GPU_SOURCE: "off" } });
      const s = server;
      const h = await health(s);
      expect(h.status, h.text).toBe(503);
      expect(h.body.store).toMatchObject({ engine: "postgres", ok: false, error: expect.any(String) });
      const models = await call(s, "/api/models/status");
      expect(models.status, models.text).toBe(503);
      expect(models.body).toMatchObject({ error: "store_unavailable" });
      expect(models.ms, "/api/models/status answered in (ms)").toBeLessThan(2000);
      const write = await postStatus(s, { model_key: "veran-v5", status: "running", progress: 42 });
      expect(write.status, write.text).toBe(503);
      expect(write.body).toMatchObject({ error: "store_unavailable" });
      expect(write.ms, "POST /api/update-status answered in (ms)").toBeLessThan(2000);

      const up = Date.now();
      await resume();
      await expectHealthy(s, 15_000);
      const recoveredMs = Date.now() - up;
      const after = await call<{ models: ModelStatus[] }>(s, "/api/models/status");
      expect(after.status, after.text).toBe(200);
      expect(after.body.models.map((m) => m.key)).toEqual(DEMO_MODELS);
      const written = await postStatus(s, { model_key: "veran-v5", status: "running", progress: 43 });
      expect(written.status, written.text).toBe(200);
      expect(await count(url, "SELECT count(*) AS n FROM status_updates WHERE model_key = 'veran-v5' AND source = 'api' AND progress = 43")).toBe(1);
      expect(await count(url, "SELECT count(*) AS n FROM status_updates WHERE source = 'api' AND progress = 42")).toBe(0);
      console.log(`started while down: healthy ${recoveredMs} ms after PostgreSQL started`);
    } finally {
      if (server) await stopServer(server);
      if (paused) await resume();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
});

test.describe("a DATABASE_URL that cannot work", () => {
  let postgres: PostgresServer;
  test.beforeAll(async () => {
    postgres = await startPostgres();
    // A role whose password is not also a word of every PostgreSQL message, so its absence means something.
    await pgQuery(postgres.adminUrl, "CREATE ROLE afs_e2e LOGIN PASSWORD 'role-secret-789'");
  });
  test.afterAll(async () => {
    await postgres?.stop();
  });

  test("stops the server at start, naming the problem and never the password", async () => {
    test.setTimeout(60_000);
    const admin = new URL(postgres.adminUrl);
    const wrongPassword = new URL(admin);
    wrongPassword.password = "wrong-secret-123";
    const unknownDatabase = new URL(admin);
    unknownDatabase.username = "afs_e2e";
    unknownDatabase.password = "role-secret-789";
    unknownDatabase.pathname = "/no_such_database";
    const cases = [
      { url: "not a url", password: null, problem: [/is not a URL/, /DATABASE_URL/] },
      { url: "mysql://u:pw-mysql-456@h/db", password: "pw-mysql-456", problem: [/must start with postgres:\/\/ or postgresql:\/\/, not mysql:\/\//, /DATABASE_URL/] },
      { url: wrongPassword.toString(), password: "wrong-secret-123", problem: [/password authentication failed/] },
      { url: unknownDatabase.toString(), password: "role-secret-789", problem: [/database "no_such_database" does not exist/] },
    ];
    const runs = await Promise.all(cases.map((c) => runUntilExit({ env: { DATABASE_URL: c.url } })));
    for (const [i, { url, password, problem }] of cases.entries()) {
      const { code, output } = runs[i];
      expect.soft(code, `exit code for ${url}:\n${output}`).not.toBeNull();
      expect.soft(code, `exit code for ${url}:\n${output}`).not.toBe(0);
      for (const p of problem) expect.soft(output, `output for ${url}`).toMatch(p);
      if (password) expect.soft(output.includes(password), `the password in the output for ${url}:\n${output}`).toBe(false);
    }
  });
});
