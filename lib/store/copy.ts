import "server-only";
import { sql, type Kysely } from "kysely";
import type { Store, Tables } from "./db";

// Every table of the schema, by primary key. Rows are read in key order a page at a time, so a
// large GPU history is never held whole; a row the destination already has is left as it is,
// so a second copy writes nothing. `meta` is the exception: the destination's migration wrote
// its own created_at, and the source's must win.
const TABLES: { table: string; key: string[]; sourceWins?: true }[] = [
  { table: "meta", key: ["key"], sourceWins: true },
  { table: "status_updates", key: ["id"] },
  { table: "gpu_samples", key: ["host", "gpu_index", "at"] },
  { table: "gpu_samples_1m", key: ["host", "gpu_index", "minute"] },
  { table: "gpu_samples_10m", key: ["host", "period", "gpu_index", "high"] },
  { table: "gpu_samples_1h", key: ["host", "period", "gpu_index", "high"] },
  { table: "first_seen", key: ["model_key", "subject"] },
  { table: "sample_counts", key: ["path"] },
  { table: "remote_files", key: ["host", "path"] },
  { table: "host_keys", key: ["host"] },
  { table: "vast_polls", key: ["at"] },
  { table: "vast_instances", key: ["at", "id"] },
  { table: "alerts", key: ["id"] },
  { table: "alert_outbox", key: ["id"] },
];

// Rows per page and per INSERT: the widest table has 13 columns, so 13,000 parameters, far
// below PostgreSQL's 65,535 (and SQLite's 32,766).
const PAGE_ROWS = 1000;

// Tables of the engines' own bookkeeping, not ours to copy.
const BOOKKEEPING = new Set(["schema_version"]);

export type CopyReport = {
  // Per table: rows in the source and in the destination after the copy, and rows this copy wrote.
  tables: { table: string; source: number; destination: number; written: number }[];
};

type Db = Kysely<Tables>;
type Row = Record<string, unknown>;

// Copies every row of `from` into `to` (both open, so both at the current schema). The source is
// read in one transaction, a consistent snapshot even while a server writes to it; the
// destination is written in one, so a copy that fails leaves nothing half done.
export async function copyStore({ from, to }: { from: Store; to: Store }): Promise<CopyReport> {
  return from.db.transaction().execute(async (source) => {
    await refuseUnknownTables({ db: source });
    const written = await to.db.transaction().execute(async (destination) => {
      const counts = new Map<string, number>();
      for (const spec of TABLES) counts.set(spec.table, await copyTable({ source, destination, ...spec }));
      // The ids came along; the next id PostgreSQL hands out must come after them.
      if (to.engine === "postgres") {
        for (const table of ["status_updates", "alerts"]) {
          await sql`SELECT setval(pg_get_serial_sequence(${table}, 'id'), GREATEST(MAX(id), 1), MAX(id) IS NOT NULL) FROM ${sql.table(table)}`.execute(destination);
        }
      }
      return counts;
    });
    const tables: CopyReport["tables"] = [];
    for (const { table } of TABLES) {
      tables.push({ table, source: await countRows({ db: source, table }), destination: await countRows({ db: to.db, table }), written: written.get(table)! });
    }
    return { tables };
  });
}

// A table added by a later migration but not listed above would silently stay behind.
async function refuseUnknownTables({ db }: { db: Db }) {
  const known = new Set(TABLES.map((t) => t.table));
  const unknown = (await db.introspection.getTables()).map((t) => t.name).filter((name) => !known.has(name) && !BOOKKEEPING.has(name));
  if (unknown.length) throw new Error(`the source has tables lib/store/copy.ts does not know: ${unknown.join(", ")}`);
}

async function copyTable({ source, destination, table, key, sourceWins }: { source: Db; destination: Db; table: string; key: string[]; sourceWins?: true }) {
  const keyColumns = sql.join(key.map((k) => sql.ref(k)));
  let written = 0;
  let last: Row | undefined;
  for (;;) {
    // Keyset pagination: each page starts after the last key of the one before, at the same cost.
    const after = last ? sql`WHERE (${keyColumns}) > (${sql.join(key.map((k) => last![k]))})` : sql``;
    const { rows } = await sql<Row>`SELECT * FROM ${sql.table(table)} ${after} ORDER BY ${keyColumns} LIMIT ${PAGE_ROWS}`.execute(source);
    if (rows.length) written += await insertRows({ db: destination, table, key, rows, sourceWins });
    if (rows.length < PAGE_ROWS) return written;
    last = rows.at(-1);
  }
}

// Returns how many rows it wrote: inserted, or (sourceWins) changed to the source's values.
async function insertRows({ db, table, key, rows, sourceWins }: { db: Db; table: string; key: string[]; rows: Row[]; sourceWins?: true }) {
  const columns = Object.keys(rows[0]);
  const values = sql.join(rows.map((row) => sql`(${sql.join(columns.map((c) => row[c]))})`));
  const keyColumns = sql.join(key.map((k) => sql.ref(k)));
  let conflict = sql`ON CONFLICT (${keyColumns}) DO NOTHING`;
  if (sourceWins) {
    const rest = columns.filter((c) => !key.includes(c));
    const excluded = sql.join(rest.map((c) => sql.ref(`excluded.${c}`)));
    const current = sql.join(rest.map((c) => sql.ref(`${table}.${c}`)));
    // Only rows whose values differ are updated, so a second copy writes nothing here either.
    conflict = sql`ON CONFLICT (${keyColumns}) DO UPDATE SET ${sql.join(rest.map((c) => sql`${sql.ref(c)} = ${sql.ref(`excluded.${c}`)}`))}
      WHERE (${current}) IS DISTINCT FROM (${excluded})`;
  }
  const result = await sql`INSERT INTO ${sql.table(table)} (${sql.join(columns.map((c) => sql.ref(c)))}) VALUES ${values} ${conflict}`.execute(db);
  return Number(result.numAffectedRows ?? 0);
}

async function countRows({ db, table }: { db: Db; table: string }): Promise<number> {
  const { rows } = await sql<{ n: number | string }>`SELECT COUNT(*) AS n FROM ${sql.table(table)}`.execute(db);
  return Number(rows[0].n);
}
