import { sql } from "kysely";
import { getStore } from "@/lib/store/db";

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
