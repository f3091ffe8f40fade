import fs from "node:fs";
import path from "node:path";
import Database from "better-sqlite3";
import { sql } from "kysely";
import { getEnv } from "@/lib/env";
import { getStore, migrationSql } from "@/lib/store/db";
import { pgQuery } from "./postgres";

// The rows a query gives on the store the environment points at, whichever engine it is.
export async function storeRows<T = Record<string, unknown>>(query: string): Promise<T[]> {
  const { db } = await getStore();
  return (await sql.raw<T>(query).execute(db)).rows;
}

// Status history written straight into the store, as an earlier process would have left it.
export async function insertStatusRows(rows: { model_key: string; status: string; progress: number; at: string; source?: string }[]): Promise<void> {
  const { db } = await getStore();
  await db.insertInto("status_updates").values(rows.map((r) => ({ source: "api", ...r }))).execute();
}

// The store the environment points at (not yet opened) as an earlier dashboard left it: at schema
// `version`, holding `rows` (each table's rows in that version's shape). The next getStore()
// migrates it the rest of the way.
export async function createStoreAt({ version, rows }: { version: number; rows: Record<string, Record<string, unknown>[]> }): Promise<void> {
  const setting = getEnv().store;
  const migrations = Array.from({ length: version }, (_, v) => migrationSql({ engine: setting.engine, version: v + 1 }));
  const inserts = Object.entries(rows).flatMap(([table, list]) => (list.length ? [insertSql({ table, rows: list })] : []));
  const script = [...migrations, ...inserts].join(";\n");
  if (setting.engine === "sqlite") {
    fs.mkdirSync(path.dirname(setting.path), { recursive: true });
    const db = new Database(setting.path);
    db.exec(script);
    db.pragma(`user_version = ${version}`);
    db.close();
  } else {
    await pgQuery(setting.url, `CREATE TABLE schema_version (version INTEGER NOT NULL); INSERT INTO schema_version VALUES (${version}); ${script}`);
  }
}

// One INSERT with the values written out: numbers, text and NULL.
function insertSql({ table, rows }: { table: string; rows: Record<string, unknown>[] }): string {
  const columns = Object.keys(rows[0]);
  const literal = (v: unknown) => (v === null ? "NULL" : typeof v === "number" ? String(v) : `'${String(v).replaceAll("'", "''")}'`);
  return `INSERT INTO ${table} (${columns.join(", ")}) VALUES ${rows.map((r) => `(${columns.map((c) => literal(r[c])).join(", ")})`).join(", ")}`;
}
