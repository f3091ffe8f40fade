import "server-only";
import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { Kysely, PostgresDialect, SqliteDialect, type Generated } from "kysely";
import pg from "pg";
import { getEnv, type StoreSetting } from "@/lib/env";
import { COLUMN_TYPES, type ColumnTypes } from "./dialects";

export type Engine = StoreSetting["engine"];

// The tables the query builder writes; the GPU history's are queried with SQL (lib/store/gpu-samples.ts).
export type Tables = {
  meta: { key: string; value: string };
  status_updates: { id: Generated<number>; model_key: string; status: string; progress: number; source: string; at: string };
  first_seen: { model_key: string; subject: string; at: string };
  sample_counts: { path: string; count: string };
  remote_files: { host: string; path: string; read_offset: number; size: number; mtime_ms: number };
  host_keys: { host: string; line: string; fingerprint: string; pinned_at: string };
  vast_polls: { at: number; state: string; reason: string | null; warnings: string };
  alerts: {
    id: Generated<number>;
    rule: string;
    subject: string;
    state: string;
    since: number;
    fired_at: number | null;
    resolved_at: number | null;
    last_sent_at: number | null;
    message: string;
  };
  alert_outbox: {
    id: string;
    alert_id: number;
    channel: string;
    kind: string;
    notification: string;
    state: string;
    attempts: number;
    next_at: number;
    created_at: number;
    last_error: string | null;
    delivered_at: number | null;
  };
  vast_instances: {
    at: number;
    id: number;
    label: string | null;
    state: string;
    dph_total: number | null;
    storage_total_cost: number | null;
    start_date: number | null;
    num_gpus: number | null;
    gpu_name: string | null;
    ssh_host: string | null;
    ssh_port: number | null;
  };
};

export type Store = { engine: Engine; db: Kysely<Tables>; pool: pg.Pool | null };

// Numbered migrations, the same for both engines, applied in order at open.
const MIGRATIONS: Array<(t: ColumnTypes, engine: Engine) => string> = [
  (t) => `CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
   INSERT INTO meta (key, value) VALUES ('created_at', ${t.now});
   CREATE TABLE status_updates (
     id ${t.id},
     model_key TEXT NOT NULL,
     status TEXT NOT NULL,
     progress ${t.real} NOT NULL,
     source TEXT NOT NULL,
     at TEXT NOT NULL
   );
   CREATE INDEX status_updates_model ON status_updates (model_key, id);`,
  // GPU history: raw samples (epoch ms) for AFS_RETENTION_RAW_HOURS, then 1-minute rollups.
  (t) => `CREATE TABLE gpu_samples (
     at ${t.ms} NOT NULL,
     gpu_index INTEGER NOT NULL,
     utilization ${t.real},
     memory_used_mb ${t.real},
     memory_total_mb ${t.real},
     temperature_c ${t.real},
     power_w ${t.real},
     PRIMARY KEY (gpu_index, at)
   )${t.keyed};
   CREATE INDEX gpu_samples_at ON gpu_samples (at);
   CREATE TABLE gpu_samples_1m (
     minute ${t.ms} NOT NULL,
     gpu_index INTEGER NOT NULL,
     samples INTEGER NOT NULL,
     utilization_mean ${t.real},
     utilization_max ${t.real},
     memory_used_mean_mb ${t.real},
     memory_used_max_mb ${t.real},
     memory_total_mb ${t.real},
     temperature_mean_c ${t.real},
     temperature_max_c ${t.real},
     power_mean_w ${t.real},
     power_max_w ${t.real},
     PRIMARY KEY (gpu_index, minute)
   )${t.keyed};
   CREATE INDEX gpu_samples_1m_minute ON gpu_samples_1m (minute);`,
  // When the dashboard first saw a model ("model") and its run's records ("run"): an old run
  // copied in later is never charged for the time before it was seen.
  (t) => `CREATE TABLE first_seen (
     model_key TEXT NOT NULL,
     subject TEXT NOT NULL,
     at TEXT NOT NULL,
     PRIMARY KEY (model_key, subject)
   )${t.keyed};`,
  // Sample counts of training files, so a restart over unchanged files reads none of them.
  (t) => `CREATE TABLE sample_counts (
     path TEXT PRIMARY KEY,
     count TEXT NOT NULL
   )${t.keyed};`,
  // GPU history by 10-minute and 1-hour period, for long ranges: per period, the minute with the
  // highest utilization maximum (high = 1, with that minute's maxima) and the one with the lowest
  // mean (high = 0, with its means). A SQLite store fills them from the 1-minute rollups it
  // already has; a PostgreSQL store reaches this version in its first migration run, empty.
  (t, engine) =>
    [
      ["gpu_samples_10m", 600_000],
      ["gpu_samples_1h", 3_600_000],
    ]
      .map(
        ([table, ms]) => `CREATE TABLE ${table} (
           period ${t.ms} NOT NULL,
           gpu_index INTEGER NOT NULL,
           high INTEGER NOT NULL,
           at ${t.ms} NOT NULL,
           utilization ${t.real},
           memory_used_mb ${t.real},
           memory_total_mb ${t.real},
           temperature_c ${t.real},
           power_w ${t.real},
           PRIMARY KEY (period, gpu_index, high)
         )${t.keyed};` +
          (engine === "postgres"
            ? ""
            : `INSERT INTO ${table}
               SELECT minute / ${ms} * ${ms}, gpu_index, 1, minute, MAX(utilization_max), memory_used_max_mb, memory_total_mb, temperature_max_c, power_max_w
                 FROM gpu_samples_1m GROUP BY gpu_index, minute / ${ms}
               UNION ALL
               SELECT minute / ${ms} * ${ms}, gpu_index, 0, minute, MIN(utilization_mean), memory_used_mean_mb, memory_total_mb, temperature_mean_c, power_mean_w
                 FROM gpu_samples_1m GROUP BY gpu_index, minute / ${ms};`),
      )
      .join("\n"),
  // GPU history per host: host leads every key, so two hosts' GPU 0 at the same millisecond are
  // both kept, and what was stored before is the dashboard's own machine's. PostgreSQL adds the
  // column without rewriting the table and swaps the key; SQLite cannot change a key, so it
  // rebuilds each table, with the columns in the same order (host last). The time indexes lead
  // with host too: a host's oldest sample is one step away, and pruning goes host by host.
  // Then how far each remote run file was copied, so a restart reads on from there ("offset" is
  // reserved in PostgreSQL), and the SSH host keys pinned on first use (line: a known_hosts line).
  (t, engine) =>
    [
      { table: "gpu_samples", key: "gpu_index, at", time: "at", index: "gpu_samples_at" },
      { table: "gpu_samples_1m", key: "gpu_index, minute", time: "minute", index: "gpu_samples_1m_minute" },
      { table: "gpu_samples_10m", key: "period, gpu_index, high" },
      { table: "gpu_samples_1h", key: "period, gpu_index, high" },
    ]
      .map(({ table, key, time, index }) => {
        const host = "host TEXT NOT NULL DEFAULT 'local'";
        const timeIndex = time ? `CREATE INDEX ${table}_host_${time} ON ${table} (host, ${time});` : "";
        if (engine === "postgres") {
          return `ALTER TABLE ${table} ADD COLUMN ${host};
            ALTER TABLE ${table} DROP CONSTRAINT ${table}_pkey, ADD PRIMARY KEY (host, ${key});
            ${index ? `DROP INDEX ${index};` : ""}
            ${timeIndex}`;
        }
        // Dropping the old table drops its index.
        return `CREATE TABLE ${table}_v6 (${GPU_HISTORY_COLUMNS[table](t)}, ${host}, PRIMARY KEY (host, ${key}))${t.keyed};
          INSERT INTO ${table}_v6 SELECT *, 'local' FROM ${table};
          DROP TABLE ${table};
          ALTER TABLE ${table}_v6 RENAME TO ${table};
          ${timeIndex}`;
      })
      .concat(
        `CREATE TABLE remote_files (
           host TEXT NOT NULL,
           path TEXT NOT NULL,
           read_offset ${t.ms} NOT NULL,
           size ${t.ms} NOT NULL,
           mtime_ms ${t.ms} NOT NULL,
           PRIMARY KEY (host, path)
         )${t.keyed};
         CREATE TABLE host_keys (
           host TEXT PRIMARY KEY,
           line TEXT NOT NULL,
           fingerprint TEXT NOT NULL,
           pinned_at TEXT NOT NULL
         )${t.keyed};`,
      )
      .join("\n"),
  // Every poll of vast.ai's instance list (state "ok", or why it failed; warnings: a JSON list of
  // what was wrong with single instances) and, per successful poll,
  // each instance as it was then: the cost is worked out from these, so a restart loses nothing.
  (t) => `CREATE TABLE vast_polls (
     at ${t.ms} PRIMARY KEY,
     state TEXT NOT NULL,
     reason TEXT,
     warnings TEXT NOT NULL
   )${t.keyed};
   CREATE TABLE vast_instances (
     at ${t.ms} NOT NULL,
     id ${t.ms} NOT NULL,
     label TEXT,
     state TEXT NOT NULL,
     dph_total ${t.real},
     storage_total_cost ${t.real},
     start_date ${t.real},
     num_gpus INTEGER,
     gpu_name TEXT,
     ssh_host TEXT,
     ssh_port INTEGER,
     PRIMARY KEY (at, id)
   )${t.keyed};`,
  // Alerts: one row per rule and subject from pending to resolved (a later episode is a new row),
  // and the outbox: one row per notification and channel (its id is the idempotency key), with
  // each attempt counted before it is made.
  (t) => `CREATE TABLE alerts (
     id ${t.id},
     rule TEXT NOT NULL,
     subject TEXT NOT NULL,
     state TEXT NOT NULL,
     since ${t.ms} NOT NULL,
     fired_at ${t.ms},
     resolved_at ${t.ms},
     last_sent_at ${t.ms},
     message TEXT NOT NULL
   );
   CREATE INDEX alerts_rule_subject ON alerts (rule, subject, id);
   CREATE TABLE alert_outbox (
     id TEXT PRIMARY KEY,
     alert_id ${t.ms} NOT NULL,
     channel TEXT NOT NULL,
     kind TEXT NOT NULL,
     notification TEXT NOT NULL,
     state TEXT NOT NULL,
     attempts INTEGER NOT NULL,
     next_at ${t.ms} NOT NULL,
     created_at ${t.ms} NOT NULL,
     last_error TEXT,
     delivered_at ${t.ms}
   )${t.keyed};
   CREATE INDEX alert_outbox_due ON alert_outbox (state, next_at);`,
];

// The GPU history tables' columns before host came (migrations 2 and 5), for SQLite's rebuild in migration 6.
const periodColumns = (t: ColumnTypes) =>
  `period ${t.ms} NOT NULL, gpu_index INTEGER NOT NULL, high INTEGER NOT NULL, at ${t.ms} NOT NULL, utilization ${t.real},
   memory_used_mb ${t.real}, memory_total_mb ${t.real}, temperature_c ${t.real}, power_w ${t.real}`;
const GPU_HISTORY_COLUMNS: Record<string, (t: ColumnTypes) => string> = {
  gpu_samples: (t) =>
    `at ${t.ms} NOT NULL, gpu_index INTEGER NOT NULL, utilization ${t.real}, memory_used_mb ${t.real}, memory_total_mb ${t.real},
     temperature_c ${t.real}, power_w ${t.real}`,
  gpu_samples_1m: (t) =>
    `minute ${t.ms} NOT NULL, gpu_index INTEGER NOT NULL, samples INTEGER NOT NULL, utilization_mean ${t.real}, utilization_max ${t.real},
     memory_used_mean_mb ${t.real}, memory_used_max_mb ${t.real}, memory_total_mb ${t.real}, temperature_mean_c ${t.real},
     temperature_max_c ${t.real}, power_mean_w ${t.real}, power_max_w ${t.real}`,
  gpu_samples_10m: periodColumns,
  gpu_samples_1h: periodColumns,
};

export const SCHEMA_VERSION = MIGRATIONS.length;

// What brings a store from version - 1 to `version`; tests build older stores with it.
export function migrationSql({ engine, version }: { engine: Engine; version: number }): string {
  return MIGRATIONS[version - 1](COLUMN_TYPES[engine], engine);
}

// Advisory-lock keys are pairs; the first half says the lock is ours.
export const LOCK_CLASS = 0x41465300;
const MIGRATION_LOCK = 1;

// One store per process, kept on globalThis so dev hot reload does not open a second one. The
// open is remembered while it is pending or done; one that failed is tried again on next use,
// so a database that comes back is used without a restart.
const g = globalThis as typeof globalThis & { __afsStore?: { id: string; store: Promise<Store> } };

export function getStore(): Promise<Store> {
  const setting = getEnv().store;
  const id = settingId(setting);
  if (g.__afsStore?.id === id) return g.__afsStore.store;
  const previous = g.__afsStore?.store;
  const store = (async () => {
    await previous?.then(closeStore, () => {});
    return openStore(setting);
  })();
  const entry = { id, store };
  g.__afsStore = entry;
  store.catch(() => g.__afsStore === entry && (g.__afsStore = undefined));
  return store;
}

// Closes the store of this process; the next use opens it again.
export async function closeCurrentStore(): Promise<void> {
  const entry = g.__afsStore;
  g.__afsStore = undefined;
  await entry?.store.then(closeStore, () => {});
}

function settingId(setting: StoreSetting): string {
  return setting.engine === "sqlite" ? `sqlite:${setting.path}` : `postgres:${setting.url}`;
}

// Opens (and migrates) a store of its own, outside the one this process serves from: for
// scripts such as store:copy. Close it with closeStore.
export async function openStore(setting: StoreSetting): Promise<Store> {
  return setting.engine === "sqlite" ? openSqlite(setting.path) : openPostgres(setting);
}

export async function closeStore(store: Store) {
  await store.db.destroy();
}

function openSqlite(file: string): Store {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const database = new Database(file);
  try {
    database.pragma("journal_mode = WAL");
    // FULL: an update acknowledged with a 200 survives power loss, not only a process crash.
    database.pragma("synchronous = FULL");
    database.pragma("busy_timeout = 5000");
    // A damaged file is refused at open, naming the fault, rather than failing request by request.
    const check = database.pragma("quick_check", { simple: true });
    if (check !== "ok") throw Object.assign(new Error(`quick_check: ${String(check)}`), { code: "SQLITE_CORRUPT" });
    const current = database.pragma("user_version", { simple: true }) as number;
    refuseNewer(current);
    for (let v = current; v < MIGRATIONS.length; v++) {
      database.transaction(() => {
        database.exec(migrationSql({ engine: "sqlite", version: v + 1 }));
        database.pragma(`user_version = ${v + 1}`);
      })();
    }
  } catch (error) {
    database.close();
    throw error;
  }
  return { engine: "sqlite", db: new Kysely<Tables>({ dialect: new SqliteDialect({ database }) }), pool: null };
}

// pg hands back BIGINT and NUMERIC as strings, for values past 2^53; ours (epoch milliseconds,
// counts) are far below, so they come back as numbers, as SQLite's do.
const types = {
  getTypeParser: ((oid: number, format?: string) =>
    oid === pg.types.builtins.INT8 || oid === pg.types.builtins.NUMERIC ? Number : pg.types.getTypeParser(oid, format as "text")) as typeof pg.types.getTypeParser,
};

export function postgresConfig(setting: Extract<StoreSetting, { engine: "postgres" }>): pg.PoolConfig {
  return {
    connectionString: setting.url,
    max: setting.poolMax,
    statement_timeout: setting.statementTimeoutMs,
    // A server that does not answer must fail a request soon, never hang it.
    connectionTimeoutMillis: Math.min(setting.statementTimeoutMs, 5000),
    types,
  };
}

async function openPostgres(setting: Extract<StoreSetting, { engine: "postgres" }>): Promise<Store> {
  const pool = new pg.Pool(postgresConfig(setting));
  // An idle connection the server dropped is reported here; the next query opens a new one.
  pool.on("error", (error) => console.error(`[afs] store connection lost: ${error.message}`));
  try {
    const client = await pool.connect();
    try {
      // Two processes starting together: one migrates, the other waits and then finds it done.
      await client.query("SELECT pg_advisory_lock($1, $2)", [LOCK_CLASS, MIGRATION_LOCK]);
      await client.query("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
      const { rows } = await client.query<{ version: number }>("SELECT version FROM schema_version");
      if (rows.length === 0) await client.query("INSERT INTO schema_version (version) VALUES (0)");
      const current = rows[0]?.version ?? 0;
      refuseNewer(current);
      for (let v = current; v < MIGRATIONS.length; v++) {
        await client.query("BEGIN");
        await client.query(migrationSql({ engine: "postgres", version: v + 1 }));
        await client.query("UPDATE schema_version SET version = $1", [v + 1]);
        await client.query("COMMIT");
      }
    } catch (error) {
      await client.query("ROLLBACK").catch(() => {});
      throw error;
    } finally {
      await client.query("SELECT pg_advisory_unlock($1, $2)", [LOCK_CLASS, MIGRATION_LOCK]).catch(() => {});
      client.release();
    }
  } catch (error) {
    await pool.end();
    throw error;
  }
  return { engine: "postgres", db: new Kysely<Tables>({ dialect: new PostgresDialect({ pool }) }), pool };
}

function refuseNewer(version: number) {
  if (version > MIGRATIONS.length) {
    throw Object.assign(
      new Error(`its schema is version ${version}, newer than this dashboard's (version ${MIGRATIONS.length}); run the newer dashboard, or a copy of the store`),
      { code: "AFS_SCHEMA_NEWER" },
    );
  }
}

// Whether the store answers a read now, and how fast.
export async function checkStore(): Promise<{ ok: true; latency_ms: number } | { ok: false; error: unknown }> {
  const started = performance.now();
  try {
    await getStoreCreatedAt();
    return { ok: true, latency_ms: Math.round((performance.now() - started) * 10) / 10 };
  } catch (error) {
    return { ok: false, error };
  }
}

export async function getStoreCreatedAt(): Promise<string> {
  const { db } = await getStore();
  const row = await db.selectFrom("meta").select("value").where("key", "=", "created_at").executeTakeFirstOrThrow();
  return row.value;
}

