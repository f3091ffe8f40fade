import { execFile } from "node:child_process";
import crypto from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, describe, expect, it, vi } from "vitest";
import { GET as getCosts } from "@/app/api/costs/breakdown/route";
import { GET as getExport } from "@/app/api/export/json/route";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getUtilization } from "@/app/api/metrics/gpu-utilization/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { POST } from "@/app/api/update-status/route";
import { stopLiveState } from "@/lib/state/live-state";
import { stopCoordination } from "@/lib/store/coordination";
import { copyStore } from "@/lib/store/copy";
import { closeCurrentStore, closeStore, getStore, openStore, type Store } from "@/lib/store/db";
import { insertGpuSamples } from "@/lib/store/gpu-samples";
import { saveAlertChanges } from "@/lib/store/alerts";
import { insertVastPoll } from "@/lib/store/vast-polls";
import { pinHostKey } from "@/lib/store/host-keys";
import { saveRemoteFiles } from "@/lib/store/remote-files";
import { captureRows, HOUR, NOW, weekRows } from "../gpu/capture";
import { createDatabase, pgQuery } from "../support/postgres";
import { storeRows } from "../support/store";
import { call, postJson, TEST_TOKEN } from "../helpers";

// npm run store:copy over the demo's SQLite store, into a PostgreSQL database of its own; the
// dashboard then answers the same from either.
const ROOT = path.resolve(__dirname, "..", "..");
const DEMO = path.join(ROOT, "data");
const TABLES = ["meta", "status_updates", "gpu_samples", "gpu_samples_1m", "gpu_samples_10m", "gpu_samples_1h", "first_seen", "sample_counts", "remote_files", "host_keys", "vast_polls", "vast_instances", "alerts", "alert_outbox"];
// A remote host with GPU history, run files read part way, and its pinned key.
const REMOTE = "gpu-box-1";
const DEMO_KEYS = ["majora-v1", "veran-v5", "kestrel-v2", "orin-v3", "sable-v1"];

const adminUrl = () => process.env.AFS_TEST_PG_ADMIN_URL!;
const json = async (res: Promise<Response>) => (await res).json();
const post = (body: unknown) => call(POST, { init: postJson(body) });

// The script as a user runs it; npm's --silent keeps its own echo of the command (and the URL
// in it) out of the output.
function runCopy(args: string[]): Promise<{ status: number | null; stdout: string; stderr: string; output: string }> {
  const env = { ...process.env };
  delete env.DATABASE_URL;
  return new Promise((resolve, reject) => {
    execFile("npm", ["run", "--silent", "store:copy", "--", ...args], { cwd: ROOT, env, timeout: 60_000 }, (error, stdout, stderr) => {
      if (error && typeof error.code !== "number") reject(error);
      else resolve({ status: error ? (error.code as number) : 0, stdout, stderr, output: stdout + stderr });
    });
  });
}

const adminQuery = (query: string) => pgQuery(adminUrl(), query);

// A fresh database owned by a role of its own, with a password no output would contain by chance
// (the test server's own is "postgres", which every header of the report says).
async function createOwnedDatabase() {
  const url = new URL(await createDatabase(adminUrl()));
  const role = `afs_copy_${crypto.randomBytes(4).toString("hex")}`;
  const password = `pw-${crypto.randomBytes(9).toString("hex")}`;
  await adminQuery(`CREATE ROLE ${role} LOGIN PASSWORD '${password}'`);
  await adminQuery(`ALTER DATABASE "${url.pathname.slice(1)}" OWNER TO ${role}`);
  url.username = role;
  url.password = password;
  return { url: url.toString(), password, role, database: url.pathname.slice(1) };
}

// Every row of every table, each as JSON, sorted here: the engines sort text differently.
async function dumpStore(store: Store): Promise<Record<string, string[]>> {
  const dump: Record<string, string[]> = {};
  for (const table of TABLES) {
    const { rows } = await sql.raw(`SELECT * FROM ${table}`).execute(store.db);
    dump[table] = rows.map((r) => JSON.stringify(r)).sort();
  }
  return dump;
}

const countsOf = (dump: Record<string, string[]>) => Object.fromEntries(Object.entries(dump).map(([t, rows]) => [t, rows.length]));

// What the dashboard answers from the store the environment points at. The clock is frozen (see
// below), so even the fields that move with it (GPU hours and cost of the running model, the
// estimate, timestamps, the GPU history's window) must come out equal. /api/health is compared by
// its warnings only: its db and store fields name the engine, which is the one thing that differs.
async function readAnswers() {
  const answers: Record<string, unknown> = {
    models: await json(call(getModels)),
    training: await json(call(getTraining)),
    costs: await json(call(getCosts)),
    export: await json(call(getExport)),
    health: (await json(call(getHealth))).warnings,
  };
  for (const key of DEMO_KEYS) answers[`model ${key}`] = await json(call(getModel, { params: { key } }));
  // 1h reads raw samples, 24h the 1-minute rollups, 7d the 10-minute and 1-hour periods.
  for (const range of ["1h", "24h", "7d"]) answers[`gpu ${range}`] = await json(call(getUtilization, { url: `/api/metrics/gpu-utilization?range=${range}` }));
  answers[`gpu ${REMOTE}`] = await json(call(getUtilization, { url: `/api/metrics/gpu-utilization?host=${REMOTE}&range=1h` }));
  return answers;
}

describe("npm run store:copy", () => {
  let dir: string;
  let dbFile: string;
  let target: Awaited<ReturnType<typeof createOwnedDatabase>>;
  let sqliteAnswers: Record<string, unknown>;
  let sourceDump: Record<string, string[]>;

  beforeAll(async () => {
    // Only Date is frozen: timers and I/O run as usual.
    vi.useFakeTimers({ toFake: ["Date"] });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-copy-"));
    fs.cpSync(DEMO, dir, { recursive: true, filter: (src) => path.relative(DEMO, src) !== ".afs" });
    dbFile = path.join(dir, ".afs", "afs.db");
    process.env.AFS_DATA_DIR = dir;
    process.env.AFS_DB = dbFile;
    process.env.AFS_API_TOKEN = TEST_TOKEN;
    delete process.env.DATABASE_URL;

    // The demo as a server would have stored it: first sightings, run statuses and sample
    // counts from the first reads, statuses posted over the API, a week of GPU history.
    vi.setSystemTime(NOW - 3 * HOUR);
    await readAnswers();
    vi.setSystemTime(NOW - 2 * HOUR);
    expect((await post({ model_key: "orin-v3", status: "running", progress: 45 })).status).toBe(200);
    expect((await post({ model_key: "veran-v5", status: "running", progress: 70 })).status).toBe(200);
    vi.setSystemTime(NOW - HOUR);
    expect((await post({ model_key: "orin-v3", status: "paused", progress: 52.5 })).status).toBe(200);
    expect((await post({ model_key: "veran-v5", status: "running", progress: 81 })).status).toBe(200);
    await insertGpuSamples({ samples: weekRows() });
    await insertGpuSamples({ samples: captureRows({ gpu: 0, endAt: NOW - 60_000 }).map((r) => ({ ...r, host: REMOTE })) });
    await saveRemoteFiles({
      host: REMOTE,
      files: [
        { path: "/runs/a/metrics.jsonl", offset: 4096, size: 8192, mtime_ms: NOW - HOUR },
        { path: "/runs/b/trainer_state.json", offset: 0, size: 2_500_000_000, mtime_ms: NOW - 2 * HOUR },
      ],
    });
    await insertVastPoll({
      at: NOW - HOUR,
      state: "ok",
      reason: null,
      warnings: ["instance 9: gpu_util is missing; left null"],
      instances: [
        { id: 9, label: "orin-v3", state: "running", dph_total: 2.1, storage_total_cost: 0.012, start_date: (NOW - 24 * HOUR) / 1000, num_gpus: 1, gpu_name: "H100_SXM", ssh_host: "ssh4.vast.ai", ssh_port: 20009 },
      ],
    });
    const failed = { id: "3f1c0d2e-5b6a-4c7d-8e9f-0a1b2c3d4e5f", rule: "run failed", subject: "orin-v3", kind: "firing" as const, title: "Orin v3 failed", text: "Orin v3 failed: at 52.5%", link: null, session: "AFS fine-tuning session", at: new Date(NOW - HOUR).toISOString() };
    await saveAlertChanges({
      now: NOW - HOUR,
      channels: () => ["team"],
      changes: { opened: [{ rule: "run failed", subject: "orin-v3", state: "firing", since: NOW - HOUR, fired_at: NOW - HOUR, resolved_at: null, last_sent_at: NOW - HOUR, message: failed.text, notifications: [failed] }], changed: [] },
    });
    await pinHostKey({ host: REMOTE, line: `${REMOTE} ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl`, fingerprint: "SHA256:test" });
    // Read an hour on, by a fresh state as a restarted server would (a running one keeps the
    // time of its last change in `timestamp` and `generated_at`): a sighting the copy lost would
    // be made anew at this time on PostgreSQL, and move the models' last_update.
    vi.setSystemTime(NOW);
    await stopLiveState();
    sqliteAnswers = await readAnswers();
    await stopLiveState();
    await closeCurrentStore();
    target = await createOwnedDatabase();
  }, 120_000);

  afterAll(async () => {
    vi.useRealTimers();
    await stopLiveState();
    await stopCoordination();
    await closeCurrentStore();
    delete process.env.DATABASE_URL;
    if (target) {
      await adminQuery(`DROP DATABASE IF EXISTS "${target.database}" WITH (FORCE)`);
      await adminQuery(`DROP ROLE IF EXISTS ${target.role}`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it("copies every table, and a second run (the script's) writes nothing", async () => {
    const from = await openStore({ engine: "sqlite", path: dbFile });
    const to = await openStore({ engine: "postgres", url: target.url, poolMax: 2, statementTimeoutMs: 60_000 });
    try {
      const source = (sourceDump = await dumpStore(from));
      // The demo's store has rows in every table, or the copy of one would go untested.
      for (const table of TABLES) expect(source[table].length, table).toBeGreaterThan(0);
      expect(source.gpu_samples.filter((row) => JSON.parse(row).host === REMOTE)).toHaveLength(215);

      const report = await copyStore({ from, to });
      expect(report.tables.map((t) => t.table)).toEqual(TABLES);
      for (const t of report.tables) {
        expect(t.destination, t.table).toBe(source[t.table].length);
        expect(t.source, t.table).toBe(source[t.table].length);
      }
      // meta's created_at row was there (the destination's migration wrote it) and took the source's value.
      expect(report.tables.find((t) => t.table === "meta")!.written).toBe(1);
      const copied = await dumpStore(to);
      expect(copied).toEqual(source);

      const second = await runCopy(["--from", dbFile, "--to", target.url]);
      expect(second.stderr).toBe("");
      expect(second.status).toBe(0);
      expect(second.output).not.toContain(target.password);
      expect(second.stdout).toContain(`into ${target.url.replace(`:${target.password}@`, ":***@")}`);
      const table = second.stdout.split("\n").filter((line) => /^\w+\s+\d+\s+\d+$/.test(line));
      expect(second.stdout).toMatch(/^table\s+sqlite\s+postgres$/m);
      expect(table.map((line) => line.split(/\s+/))).toEqual(TABLES.map((t) => [t, String(source[t].length), String(source[t].length)]));
      expect(second.stdout).toMatch(/^0 rows written in [\d.]+ s; row counts match$/m);
      expect(await dumpStore(to)).toEqual(copied);
    } finally {
      await closeStore(from);
      await closeStore(to);
    }
  }, 60_000);

  it("answers the same from the copy, and goes on numbering statuses after the copied ones", async () => {
    process.env.DATABASE_URL = target.url;
    const remote = sqliteAnswers[`gpu ${REMOTE}`] as { metrics: unknown[]; source: string };
    expect(remote.metrics.length).toBeGreaterThan(0);
    // Nothing reads that host in this process: its history is there, no live source.
    expect(remote.source).toBe("none");
    expect(await readAnswers()).toEqual(sqliteAnswers);
    // The reads stored nothing new: every sighting, status and count they need was copied.
    expect(await dumpStore(await getStore())).toEqual(sourceDump);
    const before = Math.max(...sourceDump.status_updates.map((row) => JSON.parse(row).id));
    expect((await post({ model_key: "sable-v1", status: "running", progress: 31 })).status).toBe(200);
    expect(await storeRows("SELECT id, model_key FROM status_updates ORDER BY id DESC LIMIT 1")).toEqual([{ id: before + 1, model_key: "sable-v1" }]);
  }, 60_000);
});

describe("npm run store:copy refuses bad arguments", () => {
  let dbFile: string;

  let dir: string;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-copy-"));
    dbFile = path.join(dir, "afs.db");
    await closeStore(await openStore({ engine: "sqlite", path: dbFile }));
  });

  afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

  it("names what is wrong, exits 2, and never prints a password", async () => {
    const url = "postgres://afs:hunter2-secret@127.0.0.1:1/afs";
    const [notPostgres, noFrom, noFile, stray] = await Promise.all([
      runCopy(["--from", dbFile, "--to", "mysql://root:hunter2-secret@db.example/afs"]),
      runCopy(["--to", url]),
      runCopy(["--from", `${dbFile}.typo`, "--to", url]),
      // A URL given where an option was expected is not echoed back either.
      runCopy(["--from", dbFile, url]),
    ]);
    expect(notPostgres.status).toBe(2);
    expect(notPostgres.stderr).toMatch(/^store:copy: --to must start with postgres:\/\/ or postgresql:\/\/, not mysql:\/\/$/m);
    expect(notPostgres.stderr).toContain("usage: npm run --silent store:copy -- --from <sqlite file> --to <postgres://");

    expect(noFrom.status).toBe(2);
    expect(noFrom.stderr).toMatch(/^store:copy: --from is missing/m);

    expect(noFile.status).toBe(2);
    expect(noFile.stderr).toContain(`--from: no such file: ${dbFile}.typo`);
    expect(fs.existsSync(`${dbFile}.typo`)).toBe(false);

    expect(stray.status).toBe(2);
    expect(stray.stderr).toMatch(/^store:copy: unexpected argument #3/m);

    for (const run of [notPostgres, noFrom, noFile, stray]) {
      expect(run.stdout).toBe("");
      expect(run.output).not.toContain("hunter2");
    }
  }, 60_000);

  it("exits 1 with the driver's reason when the server cannot be reached", async () => {
    const run = await runCopy(["--from", dbFile, "--to", "postgres://afs:hunter2-secret@127.0.0.1:1/afs"]);
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/^store:copy: .*ECONNREFUSED/m);
    expect(run.output).not.toContain("hunter2");
  }, 60_000);
});
