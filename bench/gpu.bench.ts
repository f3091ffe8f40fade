import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { sql } from "kysely";
import { afterAll, beforeAll, test } from "vitest";
import { parseGpuCsv } from "@/lib/gpu/parse";
import { toSampleRow } from "@/lib/gpu/sample-writer";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { closeCurrentStore, getStore, type Engine } from "@/lib/store/db";
import { insertGpuSamples, queryGpuHistory, type GpuHistoryPoint, type GpuSampleRow } from "@/lib/store/gpu-samples";
import { createDatabase, pgQuery, startPostgres, type PostgresServer } from "../tests/support/postgres";
import { machine, percentile, timeMs } from "./report";

const GPUS = 8;
const DAYS = 7;
const SECONDS = DAYS * 86_400;
const LIVE_BATCHES = 500;
const QUERIES = 30;
// One instant for both engines, so they hold the same samples and answer the same ranges.
const NOW = Date.now();
const START = NOW - SECONDS * 1000;

type Figures = {
  bulkPerS: number;
  bulkS: number;
  livePerS: number;
  liveMs: number;
  // SQLite only: the live ingest again without an fsync per commit, as the test PostgreSQL runs.
  liveNoSyncPerS?: number;
  week: number[];
  hour: number[];
  weekAnswer: GpuHistoryPoint[];
  storeBytes: number;
};

const figures: Partial<Record<Engine, Figures>> = {};
let postgres: PostgresServer | undefined;
let postgresSettings = "";

// Values cycle through the real H100 capture (idle, load, idle), so the store holds real shapes.
const capture = fs.readFileSync(path.join(__dirname, "..", "tests", "fixtures", "nvidia-smi", "stream_500ms.csv"), "utf8");
const real = parseGpuCsv({ text: capture }).readings.map((r) => r.reading);
const row = (second: number, gpu: number): GpuSampleRow => ({
  ...toSampleRow({ host: LOCAL_HOST, at: START + second * 1000, reading: real[(second + gpu * 17) % real.length] }),
  gpu_index: gpu,
});
// What the poller writes once a second: one sample per GPU, in one transaction.
const secondOfSamples = (second: number) => Array.from({ length: GPUS }, (_, gpu) => row(second, gpu));

async function measure(): Promise<Figures> {
  const { engine, db } = await getStore();

  // Bulk load, an hour of samples per transaction.
  const bulkMs = await timeMs(async () => {
    for (let hour = 0; hour < SECONDS / 3600; hour++) {
      const samples: GpuSampleRow[] = [];
      for (let s = hour * 3600; s < (hour + 1) * 3600; s++) samples.push(...secondOfSamples(s));
      await insertGpuSamples({ samples });
    }
  });
  const total = SECONDS * GPUS;

  // Live: the seconds after NOW, inserted back to back (how many the store could take, not
  // the 8 a second the poller needs). After NOW, so the queries below do not see them.
  const live = async (from: number) => {
    const ms = await timeMs(async () => {
      for (let s = from; s < from + LIVE_BATCHES; s++) await insertGpuSamples({ samples: secondOfSamples(s) });
    });
    return { perS: (LIVE_BATCHES * GPUS) / (ms / 1000), ms: ms / LIVE_BATCHES };
  };
  const liveFull = await live(SECONDS + 1);
  let liveNoSyncPerS: number | undefined;
  if (engine === "sqlite") {
    // The store opens with synchronous=FULL; this connection only, for this one comparison.
    await sql`PRAGMA synchronous = NORMAL`.execute(db);
    liveNoSyncPerS = (await live(SECONDS + 1 + LIVE_BATCHES)).perS;
    await sql`PRAGMA synchronous = FULL`.execute(db);
  } else {
    // What autovacuum does to a store filled over 7 days; left to it, it would run during the queries.
    await sql`VACUUM ANALYZE`.execute(db);
  }

  const latencies = async (rangeMs: number) => {
    const samples: number[] = [];
    for (let i = 0; i < QUERIES; i++) samples.push(await timeMs(() => queryGpuHistory({ host: LOCAL_HOST, rangeMs, points: 500, now: NOW })));
    return samples;
  };
  const week = await latencies(DAYS * 86_400_000);
  const hour = await latencies(3_600_000);
  const weekAnswer = await queryGpuHistory({ host: LOCAL_HOST, rangeMs: DAYS * 86_400_000, points: 500, now: NOW });

  let storeBytes: number;
  if (engine === "sqlite") {
    const file = process.env.AFS_DB!;
    storeBytes = fs.statSync(file).size + (fs.existsSync(`${file}-wal`) ? fs.statSync(`${file}-wal`).size : 0);
  } else {
    const { rows } = await sql<{ bytes: number }>`SELECT pg_database_size(current_database()) AS bytes`.execute(db);
    storeBytes = rows[0].bytes;
  }
  return { bulkPerS: total / (bulkMs / 1000), bulkS: bulkMs / 1000, livePerS: liveFull.perS, liveMs: liveFull.ms, liveNoSyncPerS, week, hour, weekAnswer, storeBytes };
}

beforeAll(async () => {
  postgres = await startPostgres();
  const [settings] = await pgQuery<{ version: string; fsync: string; commit: string }>(
    postgres.adminUrl,
    "SELECT current_setting('server_version') AS version, current_setting('fsync') AS fsync, current_setting('synchronous_commit') AS commit",
  );
  postgresSettings = `PostgreSQL ${settings.version}, fsync=${settings.fsync}, synchronous_commit=${settings.commit}`;
});

afterAll(async () => {
  await closeCurrentStore();
  printTable();
  await postgres?.stop();
});

test("GPU history on SQLite: 7 days × 1 Hz × 8 GPUs", async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-bench-gpu-"));
  delete process.env.DATABASE_URL;
  process.env.AFS_DB = path.join(dir, "afs.db");
  try {
    figures.sqlite = await measure();
  } finally {
    await closeCurrentStore();
    fs.rmSync(dir, { recursive: true, force: true });
  }
});

test("GPU history on PostgreSQL: 7 days × 1 Hz × 8 GPUs", async () => {
  const url = await createDatabase(postgres!.adminUrl);
  process.env.DATABASE_URL = url;
  try {
    figures.postgres = await measure();
  } finally {
    await closeCurrentStore();
    delete process.env.DATABASE_URL;
    // Dropped rather than left behind: on an AFS_TEST_DATABASE_URL server it would stay for good.
    await pgQuery(postgres!.adminUrl, `DROP DATABASE "${new URL(url).pathname.slice(1)}"`);
  }
});

function printTable() {
  const { sqlite, postgres: pgf } = figures;
  if (!sqlite && !pgf) return;
  const fixed = (digits: number) => (v: number) => v.toLocaleString("en", { minimumFractionDigits: digits, maximumFractionDigits: digits });
  const rows: Array<[string, (f: Figures) => number, (v: number) => string]> = [
    ["bulk ingest, samples/s (1 h per transaction)", (f) => f.bulkPerS, fixed(0)],
    ["live ingest, samples/s (8 GPUs × 1 s per tx)", (f) => f.livePerS, fixed(0)],
    ["  ms per live transaction", (f) => f.liveMs, fixed(2)],
    ["7-day query p50, ms (500 points per GPU)", (f) => percentile(f.week, 50), fixed(1)],
    [`7-day query p99, ms (of ${QUERIES})`, (f) => percentile(f.week, 99), fixed(1)],
    ["1-hour query p50, ms (500 points per GPU)", (f) => percentile(f.hour, 50), fixed(1)],
    [`1-hour query p99, ms (of ${QUERIES})`, (f) => percentile(f.hour, 99), fixed(1)],
    ["store size, MB", (f) => f.storeBytes / 2 ** 20, fixed(0)],
  ];
  const cell = (f: Figures | undefined, get: (f: Figures) => number, show: (v: number) => string) => (f ? show(get(f)) : "-").padStart(12);
  console.log(`\nGPU history: ${(SECONDS * GPUS).toLocaleString("en")} samples (${DAYS} d × 1 Hz × ${GPUS} GPUs) (${machine()})`);
  console.log(`  SQLite: synchronous=FULL (as shipped); ${postgresSettings || "PostgreSQL: not started"} (the test server's)`);
  console.log(`  ${"".padEnd(46)} ${"SQLite".padStart(12)} ${"PostgreSQL".padStart(12)} ${"PG / SQLite".padStart(12)}`);
  for (const [label, get, show] of rows) {
    const ratio = sqlite && pgf ? `${(get(pgf) / get(sqlite)).toFixed(2)}x` : "-";
    console.log(`  ${label.padEnd(46)} ${cell(sqlite, get, show)} ${cell(pgf, get, show)} ${ratio.padStart(12)}`);
  }
  if (sqlite?.liveNoSyncPerS) {
    console.log(`  SQLite live ingest with synchronous=NORMAL (no fsync per commit): ${fixed(0)(sqlite.liveNoSyncPerS)} samples/s`);
  }
  if (sqlite && pgf) {
    const same = JSON.stringify(sqlite.weekAnswer) === JSON.stringify(pgf.weekAnswer);
    console.log(`  7-day answer: ${sqlite.weekAnswer.length} and ${pgf.weekAnswer.length} points, ${same ? "the same on both engines" : "DIFFERENT between the engines"}`);
  }
}
