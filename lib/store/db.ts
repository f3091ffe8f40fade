import "server-only";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { getEnv } from "@/lib/env";

// Numbered migrations, applied in order at open; PRAGMA user_version records how far a file got.
const MIGRATIONS: string[] = [
  `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   INSERT INTO meta (key, value) VALUES ('created_at', strftime('%Y-%m-%dT%H:%M:%fZ', 'now'));
   CREATE TABLE status_updates (
     id INTEGER PRIMARY KEY AUTOINCREMENT,
     model_key TEXT NOT NULL,
     status TEXT NOT NULL,
     progress REAL NOT NULL,
     source TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX status_updates_model ON status_updates (model_key, id);`,
  // GPU history: raw samples (epoch ms) for AFS_RETENTION_RAW_HOURS, then 1-minute rollups.
  `CREATE TABLE gpu_samples (
     at INTEGER NOT NULL,
     gpu_index INTEGER NOT NULL,
     utilization REAL,
     memory_used_mb REAL,
     memory_total_mb REAL,
     temperature_c REAL,
     power_w REAL,
     PRIMARY KEY (gpu_index, at)
   ) WITHOUT ROWID;
   CREATE INDEX gpu_samples_at ON gpu_samples (at);
   CREATE TABLE gpu_samples_1m (
     minute INTEGER NOT NULL,
     gpu_index INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     utilization_mean REAL,
     utilization_max REAL,
     memory_used_mean_mb REAL,
     memory_used_max_mb REAL,
     memory_total_mb REAL,
     temperature_mean_c REAL,
     temperature_max_c REAL,
     power_mean_w REAL,
     power_max_w REAL,
     PRIMARY KEY (gpu_index, minute)
   ) WITHOUT ROWID;
   CREATE INDEX gpu_samples_1m_minute ON gpu_samples_1m (minute);`,
  // When the dashboard first saw a model ("model") and its run's records ("run"): an old run
  // copied in later is never charged for the time before it was seen.
  `CREATE TABLE first_seen (
     model_key TEXT NOT NULL,
     subject TEXT NOT NULL,
     at TEXT NOT NULL,
     PRIMARY KEY (model_key, subject)
   ) WITHOUT ROWID;`,
  // Sample counts of training files, so a restart over unchanged files reads none of them.
  `CREATE TABLE sample_counts (
     path TEXT PRIMARY KEY,
     count TEXT NOT NULL
   ) WITHOUT ROWID;`,
  // GPU history by 10-minute and 1-hour period, for long ranges: per period, the minute with the
  // highest utilization maximum (high = 1, with that minute's maxima) and the one with the lowest
  // mean (high = 0, with its means), filled from the 1-minute rollups already stored.
  [
    ["gpu_samples_10m", 600_000],
    ["gpu_samples_1h", 3_600_000],
  ]
    .map(
      ([table, ms]) => `CREATE TABLE ${table} (
         period INTEGER NOT NULL,
         gpu_index INTEGER NOT NULL,
         high INTEGER NOT NULL,
         at INTEGER NOT NULL,
         utilization REAL,
         memory_used_mb REAL,
         memory_total_mb REAL,
         temperature_c REAL,
         power_w REAL,
         PRIMARY KEY (period, gpu_index, high)
       ) WITHOUT ROWID;
       INSERT INTO ${table}
         SELECT minute / ${ms} * ${ms}, gpu_index, 1, minute, MAX(utilization_max), memory_used_max_mb, memory_total_mb, temperature_max_c, power_max_w
           FROM gpu_samples_1m GROUP BY gpu_index, minute / ${ms}
         UNION ALL
         SELECT minute / ${ms} * ${ms}, gpu_index, 0, minute, MIN(utilization_mean), memory_used_mean_mb, memory_total_mb, temperature_mean_c, power_mean_w
           FROM gpu_samples_1m GROUP BY gpu_index, minute / ${ms};`,
    )
    .join("\n"),
];

export const SCHEMA_VERSION = MIGRATIONS.length;

type Store = { path: string; db: Database.Database };

// One handle per process, kept on globalThis so dev hot reload does not open a second one.
const g = globalThis as typeof globalThis & { __afsStore?: Store };

export function getDb(): Database.Database {
  const { dbPath } = getEnv();
  if (g.__afsStore?.path === dbPath) return g.__afsStore.db;
  g.__afsStore?.db.close();
  fs.mkdirSync(path.dirname(dbPath), { recursive: true });
  const db = new Database(dbPath);
  db.pragma("journal_mode = WAL");
  // FULL: an update acknowledged with a 200 survives power loss, not only a process crash.
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  // A damaged file is refused at open, naming the fault, rather than failing request by request.
  const check = db.pragma("quick_check", { simple: true });
  if (check !== "ok") {
    db.close();
    throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: "SQLITE_CORRUPT" });
  }
  migrate(db);
  g.__afsStore = { path: dbPath, db };
  return db;
}

function migrate(db: Database.Database) {
  const current = db.pragma("user_version", { simple: true }) as number;
  for (let v = current; v < MIGRATIONS.length; v++) {
    db.transaction(() => {
      db.exec(MIGRATIONS[v]);
      db.pragma(`user_version = ${v + 1}`);
    })();
  }
}

export function getStoreCreatedAt(): string {
  const row = getDb().prepare("SELECT value FROM meta WHERE key = 'created_at'").get() as { value: string };
  return row.value;
}
