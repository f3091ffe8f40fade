import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { expect, test } from "@playwright/test";
import {
  expectIdle,
  expectWarning,
  getJson,
  killLeftoverServers,
  makeHostileDir,
  makeSecret,
  modelEntry,
  plant,
  plantSparse,
  withServer,
  type Secret,
} from "./support/hostile";
import { scalarEvent } from "../tests/runs/helpers";
import { startServer, stopServer, type RunningServer } from "./support/server";

// One production server per case, each on a fresh data dir holding one hostile file. Every case
// also checks (in withServer): /api/health a 200 with JSON within 1 s throughout, no 5xx from any
// GET, the server's peak RSS under 1 GiB, and no byte of the secret file outside the data dir in
// any answer or in the log. The big files are sparse or written on the fly.
// Not serial mode: a failing case must not skip the others (the config runs one worker anyway).

const MB = 1024 * 1024;

type ModelStatusBody = { models: { key: string; training_samples: number; file_size_mb: number; file_size_bytes: number; evaluation_score: number | null }[] };
type RunsBody = { files: { path: string; kind: string; last_step: number | null }[] };
type LossBody = { metrics: { model: string; step: number; train_loss: number | null; timestamp: string | null }[] };
type CostsBody = { breakdown: Record<string, { total_cost: number; gpu_hours: number }>; total_cost: number };
type HealthBody = { scan: { bytes_read: number } };

let secret: Secret;
test.beforeAll(() => {
  secret = makeSecret();
});
test.afterEach(() => killLeftoverServers());
test.afterAll(() => {
  fs.rmSync(secret.dir, { recursive: true, force: true });
});

const nowSeconds = () => Date.now() / 1000;
const lossRecord = (step: number, wall_time = nowSeconds() - 60 + step) => scalarEvent({ tag: "loss", step, value: 2 / step, wall_time });

async function alphaStatus(server: RunningServer) {
  const body = await getJson<ModelStatusBody>(server, "/api/models/status");
  return body.models.find((m) => m.key === "alpha");
}

test.describe("1. a 20 GB sparse training file, and one linked to /dev/zero", () => {
  // 4 GiB rather than 20: the same file in kind, read at the same pace (this machine reads holes
  // at about 300 MB/s, so 20 GB takes over a minute), and the suite stays short.
  test("4 GiB of zero bytes without a newline: answers while it is read, then one over-long malformed line, memory bounded", async () => {
    test.setTimeout(120_000);
    const dataDir = makeHostileDir();
    plantSparse(dataDir, "models/alpha_merged.jsonl", 4 * 1024 ** 3);
    await withServer({ dataDir, secret }, async (server) => {
      // Pages do not wait for the whole read: they show what is read, and say what is not.
      const early = await getJson<ModelStatusBody & { warnings: string[] }>(server, "/api/models/status", 3000);
      expect(early.warnings).toEqual([expect.stringMatching(/^data dir: still reading it \(\d+ of \d+ files\)/)]);
      await expectWarning(server, /models\/alpha_merged\.jsonl: .*line/, 90_000);
    });
  });

  test("a link to /dev/zero: not a regular file, never read", async () => {
    const dataDir = makeHostileDir();
    fs.symlinkSync("/dev/zero", path.join(dataDir, "models/alpha_merged.jsonl"));
    await withServer({ dataDir, secret, fastMs: 1000 }, async (server) => {
      await expectWarning(server, /models\/alpha_merged\.jsonl: not a regular file/);
    });
  });
});

test.describe("2. a 500 MB JSONL line without a newline", () => {
  test("skipped as over-long, and not read again on later scans", async () => {
    test.setTimeout(90_000);
    const dataDir = makeHostileDir();
    plantSparse(dataDir, "models/alpha_merged.jsonl", 500 * MB, '{"text":"');
    await withServer({ dataDir, secret, fastMs: 1000 }, async (server) => {
      await expectWarning(server, /models\/alpha_merged\.jsonl: .*line/, 20_000);
      const before = (await getJson<HealthBody>(server, "/api/health")).scan.bytes_read;
      await expectIdle(server);
      expect.soft((await getJson<HealthBody>(server, "/api/health")).scan.bytes_read - before, "JSONL bytes read again").toBeLessThan(MB);
    });
  });
});

test.describe("3. FIFOs and a link to /dev/urandom", () => {
  test("a FIFO as the training file and as an evaluation, /dev/urandom as another: refused, and all is well once replaced", async () => {
    test.setTimeout(60_000);
    const dataDir = makeHostileDir();
    execFileSync("mkfifo", [path.join(dataDir, "models/alpha_merged.jsonl"), path.join(dataDir, "evaluations/e.json")]);
    fs.symlinkSync("/dev/urandom", path.join(dataDir, "evaluations/r.json"));
    await withServer({ dataDir, secret, fastMs: 1000 }, async (server) => {
      for (const name of ["models/alpha_merged.jsonl", "evaluations/e.json", "evaluations/r.json"]) {
        await expectWarning(server, new RegExp(`${name.replace(/[./]/g, "\\$&")}: not a regular file`));
      }
      for (const name of ["models/alpha_merged.jsonl", "evaluations/e.json", "evaluations/r.json"]) fs.rmSync(path.join(dataDir, name));
      plant(dataDir, "models/alpha_merged.jsonl", '{"a":1}\n{"b":2}\n');
      plant(dataDir, "evaluations/e.json", JSON.stringify({ model_key: "alpha", score: 0.5, evaluated_at: "2026-11-01T00:00:00Z" }));
      await expect.poll(() => alphaStatus(server), { timeout: 15_000 }).toMatchObject({ training_samples: 2, evaluation_score: 0.5 });
      await expect.poll(async () => (await getJson<{ warnings: string[] }>(server, "/api/health")).warnings, { timeout: 15_000 }).toEqual([]);
    });
  });

  test("a FIFO as afs.config.json: refused, and the config is read once it is a file", async () => {
    test.setTimeout(60_000);
    const dataDir = makeHostileDir();
    const config = path.join(dataDir, "afs.config.json");
    fs.rmSync(config);
    execFileSync("mkfifo", [config]);
    await withServer({ dataDir, secret, fastMs: 1000 }, async (server) => {
      await expectWarning(server, /afs\.config\.json: not a regular file/);
      fs.rmSync(config);
      fs.writeFileSync(config, JSON.stringify({ session: { name: "Hostile" }, models: [modelEntry("alpha")] }));
      await expect.poll(() => alphaStatus(server), { timeout: 15_000 }).toMatchObject({ key: "alpha" });
    });
  });
});

test.describe("4. links that loop back into the run folder", () => {
  test("ten links runs/alpha/loopN -> . : the event file is listed once, with a warning per loop", async () => {
    test.setTimeout(60_000);
    const dataDir = makeHostileDir();
    plant(dataDir, "runs/alpha/events.out.tfevents.1.host", Buffer.concat([lossRecord(1), lossRecord(2)]));
    for (let i = 0; i < 10; i++) fs.symlinkSync(".", path.join(dataDir, `runs/alpha/loop${i}`));
    await withServer({ dataDir, secret, fastMs: 1000 }, async (server) => {
      await expectWarning(server, /runs\/alpha\/loop\d+: .*(visited|loop)/);
      const runs = await getJson<RunsBody>(server, "/api/models/alpha/runs", 1000);
      expect(runs.files.filter((f) => f.kind === "events").map((f) => f.path)).toEqual(["runs/alpha/events.out.tfevents.1.host"]);
    });
  });
});

test.describe("5. a 192 MB unterminated line in a run's JSONL log", () => {
  test("skipped with a warning, the lines before it used, and not read again on each scan", async () => {
    test.setTimeout(90_000);
    const dataDir = makeHostileDir();
    plantSparse(dataDir, "runs/alpha/log.jsonl", 192 * MB, '{"step":1,"loss":1.5}\n{"step":2,"loss":');
    await withServer({ dataDir, secret, fastMs: 1000 }, async (server) => {
      await expectWarning(server, /runs\/alpha\/log\.jsonl: .*(line|skipped)/, 20_000);
      await expectIdle(server);
      const loss = await getJson<LossBody>(server, "/api/metrics/training-loss?model=alpha", 1000);
      expect(loss.metrics.map((m) => [m.step, m.train_loss])).toEqual([[1, 1.5]]);
    });
  });
});

test.describe("6. 100,000 one-record event files in one run folder", () => {
  test("no 500; at most AFS_MAX_RUN_FILES (10,000) read, with a warning", async () => {
    test.setTimeout(120_000);
    const dataDir = makeHostileDir();
    const runDir = path.join(dataDir, "runs/alpha");
    fs.mkdirSync(runDir);
    const record = lossRecord(1);
    for (let n = 0; n < 100_000; n++) fs.writeFileSync(path.join(runDir, `events.out.tfevents.${n}.host`), record);
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /runs\/alpha: .*10,?000/, 60_000);
      const runs = await getJson<RunsBody>(server, "/api/models/alpha/runs");
      expect(runs.files.length).toBeLessThanOrEqual(10_000);
      await getJson(server, "/api/metrics/training-loss");
    });
  });
});

test.describe("7. event records timed in 1970 and in the year 10^292", () => {
  test("the loss curve answers, times outside 2000..now+1 day are not used, the cost stays sane", async () => {
    const dataDir = makeHostileDir();
    const now = nowSeconds();
    plant(dataDir, "runs/alpha/events.out.tfevents.1.host", Buffer.concat([lossRecord(1, 1e300), lossRecord(2, 1), lossRecord(3, now - 60), lossRecord(4, now - 30)]));
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /record time\(s\) before 2000 or more than a day ahead/);
      const loss = await getJson<LossBody>(server, "/api/metrics/training-loss?model=alpha");
      expect(loss.metrics.map((m) => m.step)).toEqual(expect.arrayContaining([3, 4]));
      for (const m of loss.metrics) {
        if (m.timestamp !== null) expect(Date.parse(m.timestamp)).toBeGreaterThan(Date.parse("2000-01-01T00:00:00Z"));
        if (m.timestamp !== null) expect(Date.parse(m.timestamp)).toBeLessThan(Date.now() + 86_400_000);
      }
      const costs = await getJson<CostsBody>(server, "/api/costs/breakdown");
      // $1 an hour, and the sane records span 30 s.
      expect(costs.breakdown.alpha.gpu_hours).toBeLessThan(1);
      expect(costs.breakdown.alpha.total_cost).toBeLessThan(1);
      expect(costs.total_cost).toBeLessThan(1);
    });
  });
});

test.describe("8. one ~45 MB event file: a million scalar records, then garbage", () => {
  test("read to the last record with memory bounded; the loss chart answers", async () => {
    test.setTimeout(120_000);
    const dataDir = makeHostileDir();
    const file = path.join(dataDir, "runs/alpha/events.out.tfevents.1.host");
    fs.mkdirSync(path.dirname(file));
    const fd = fs.openSync(file, "w");
    const start = nowSeconds() - 3600;
    for (let batch = 0; batch < 100; batch++) {
      const records: Buffer[] = [];
      for (let i = batch * 10_000; i < (batch + 1) * 10_000; i++) records.push(lossRecord(i + 1, start + i * 0.0035));
      fs.writeSync(fd, Buffer.concat(records));
    }
    fs.writeSync(fd, Buffer.alloc(64 * 1024, "garbage!"));
    fs.closeSync(fd);
    await withServer({ dataDir, secret }, async (server) => {
      await expect
        .poll(async () => (await getJson<RunsBody>(server, "/api/models/alpha/runs")).files.find((f) => f.kind === "events")?.last_step, { timeout: 60_000 })
        .toBe(1_000_000);
      const loss = await getJson<LossBody>(server, "/api/metrics/training-loss?model=alpha");
      expect(loss.metrics.length).toBeGreaterThan(100);
    });
  });
});

test.describe("9. a 200 MB trainer_state.json", () => {
  test("refused for its size, with a warning", async () => {
    test.setTimeout(90_000);
    const dataDir = makeHostileDir();
    const file = path.join(dataDir, "runs/alpha/trainer_state.json");
    fs.mkdirSync(path.dirname(file));
    // Valid JSON, so only its size can refuse it: a long log_history.
    const fd = fs.openSync(file, "w");
    fs.writeSync(fd, '{"global_step":10,"max_steps":100,"log_history":[');
    const chunk = '{"step":1,"loss":1.25,"learning_rate":0.0001,"epoch":0.01},'.repeat(Math.ceil(MB / 60));
    while (fs.fstatSync(fd).size < 200 * MB) fs.writeSync(fd, chunk);
    fs.writeSync(fd, '{"step":10,"loss":1.0}]}');
    fs.closeSync(fd);
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /trainer_state\.json: .*(AFS_MAX_JSON_BYTES|too large|over)/, 20_000);
    });
  });
});

test.describe("10. links to a file outside the data dir", () => {
  test("afs.config.json linked outside: refused, its contents never shown", async () => {
    const dataDir = makeHostileDir();
    const config = path.join(dataDir, "afs.config.json");
    fs.rmSync(config);
    fs.symlinkSync(secret.config, config);
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /afs\.config\.json: .*resolves outside the data dir/);
    });
  });

  test("an evaluation, the training file and a run log linked outside: refused, no size or count of them shown", async () => {
    const dataDir = makeHostileDir();
    fs.symlinkSync(secret.evaluation, path.join(dataDir, "evaluations/e.json"));
    fs.symlinkSync(secret.text, path.join(dataDir, "evaluations/t.json"));
    fs.symlinkSync(secret.text, path.join(dataDir, "models/alpha_merged.jsonl"));
    fs.mkdirSync(path.join(dataDir, "runs/alpha"));
    fs.symlinkSync(secret.text, path.join(dataDir, "runs/alpha/log.jsonl"));
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /evaluations\/e\.json: .*resolves outside the data dir/);
      await expectWarning(server, /evaluations\/t\.json: .*resolves outside the data dir/);
      await expectWarning(server, /models\/alpha_merged\.jsonl: .*resolves outside the data dir/);
      await expectWarning(server, /runs\/alpha\/log\.jsonl: .*outside the data dir/);
      expect(await alphaStatus(server)).toMatchObject({ training_samples: 0, file_size_bytes: 0, file_size_mb: 0, evaluation_score: null });
    });
  });
});

test.describe("11. duplicate keys in afs.config.json", () => {
  const alpha = JSON.stringify(modelEntry("alpha"));
  test('"models" twice', async () => {
    const dataDir = makeHostileDir({ config: `{"session":{"name":"S"},"models":[${alpha}],"models":[${JSON.stringify(modelEntry("beta"))}]}` });
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /afs\.config\.json: .*duplicate key/);
    });
  });

  test('"gpu_hours" twice in one model', async () => {
    const dataDir = makeHostileDir({ config: `{"session":{"name":"S"},"models":[${alpha.replace(/}$/, ',"gpu_hours":1,"gpu_hours":1000}')}]}` });
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, /afs\.config\.json: .*duplicate key/);
    });
  });
});

test.describe("12. NaN and Infinity losses in a run's JSONL log", () => {
  test("kept as markers: out of the curve, reported with the first step, and a warning naming it", async ({ page }) => {
    const dataDir = makeHostileDir();
    plant(dataDir, "runs/alpha/log.jsonl", '{"step":1,"loss":1.5}\n{"step":2,"loss":NaN}\n{"step":3,"loss":Infinity}\n{"step":4,"loss":-Infinity}\n{"step":5,"loss":0.5}\n');
    await withServer({ dataDir, secret }, async (server) => {
      const warning = await expectWarning(server, /alpha: train_loss: .*NaN or infinite/);
      expect(warning).toMatch(/\bstep 2\b/);
      const loss = await getJson<{ metrics: { step: number; train_loss: number | null }[]; non_finite: unknown[] }>(server, "/api/metrics/training-loss?model=alpha");
      expect(loss.metrics.map((m) => [m.step, m.train_loss])).toEqual([
        [1, 1.5],
        [5, 0.5],
      ]);
      expect(loss.non_finite).toEqual([{ model: "alpha", series: "train_loss", first_step: 2, count: 3 }]);
      // The chart says where the loss diverged.
      await page.goto(`${server.url}/?tab=metrics&model=alpha`);
      await expect(page.getByTestId("loss-diverged")).toHaveText("Training loss went NaN or infinite from step 2 (3 points left out of the curve)");
    });
  });
});

test.describe("13. many models and many evaluation files", () => {
  const keys = (n: number) => ["alpha", ...Array.from({ length: n - 1 }, (_, i) => `m${String(i).padStart(4, "0")}`)];
  const tooMany = /AFS_MAX_MODELS|more than 1,?000 models/;

  test("1,000 models: all shown, no warning", async () => {
    test.setTimeout(90_000);
    const dataDir = makeHostileDir({ models: keys(1000) });
    await withServer({ dataDir, secret }, async (server) => {
      expect((await getJson<ModelStatusBody>(server, "/api/models/status")).models).toHaveLength(1000);
      expect(((await getJson<{ warnings: string[] }>(server, "/api/health")).warnings).filter((w) => tooMany.test(w))).toEqual([]);
    });
  });

  test("1,001 models and 10,000 evaluation files: a warning, health fast throughout", async () => {
    test.setTimeout(120_000);
    const dataDir = makeHostileDir({ models: keys(1001) });
    for (let n = 0; n < 10_000; n++) {
      const evaluation = { model_key: "alpha", score: (n % 100) / 100, evaluated_at: new Date(Date.UTC(2026, 0, 1) + n * 60_000).toISOString() };
      fs.writeFileSync(path.join(dataDir, `evaluations/e${n}.json`), JSON.stringify(evaluation));
    }
    await withServer({ dataDir, secret }, async (server) => {
      await expectWarning(server, tooMany, 20_000);
    });
  });
});

test.describe("14. a store that cannot be used stops the server at start", () => {
  // Resolves with the log of a server that exited early; a server that started is stopped.
  async function startFails({ dataDir, env = {} }: { dataDir: string; env?: Record<string, string> }): Promise<string> {
    try {
      const server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: "off", ...env } });
      await stopServer(server, "SIGKILL");
      return "the server started";
    } catch (error) {
      return (error as Error).message;
    } finally {
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  }
  const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

  test("garbage in .afs/afs.db", async () => {
    const dataDir = makeHostileDir();
    const db = plant(dataDir, ".afs/afs.db", Buffer.alloc(64 * 1024, "not a database, only garbage "));
    expect(await startFails({ dataDir })).toMatch(new RegExp(`server exited early[\\s\\S]*${escape(db)}`));
  });

  test("AFS_DB naming a directory", async () => {
    const dataDir = makeHostileDir();
    const db = path.join(dataDir, "store-dir");
    fs.mkdirSync(db);
    expect(await startFails({ dataDir, env: { AFS_DB: db } })).toMatch(new RegExp(`server exited early[\\s\\S]*${escape(db)}`));
  });

  test("AFS_DB naming a FIFO", async () => {
    test.setTimeout(60_000);
    const dataDir = makeHostileDir();
    const db = path.join(dataDir, "store.fifo");
    execFileSync("mkfifo", [db]);
    expect(await startFails({ dataDir, env: { AFS_DB: db } })).toMatch(new RegExp(`server exited early[\\s\\S]*${escape(db)}`));
  });
});
