import "server-only";
import { sql } from "kysely";
import type { ModelStatusValue } from "@/lib/schemas/config";
import { PROCESS_ID, STATUS_CHANNEL } from "./coordination";
import { getStore } from "./db";

export type StatusUpdate = {
  id: number;
  model_key: string;
  status: ModelStatusValue;
  progress: number;
  source: string;
  at: string;
};

// What other processes on the same PostgreSQL database receive for each update.
export type StatusNotice = { origin: string; update: StatusUpdate };

// Append-only: a model's current status is its newest row; the rows before it are its history.
// On PostgreSQL the other processes are notified when (and only if) the row commits.
export async function insertStatusUpdate(update: Omit<StatusUpdate, "id">): Promise<StatusUpdate> {
  const { db, engine } = await getStore();
  return db.transaction().execute(async (trx) => {
    const { id } = await trx.insertInto("status_updates").values(update).returning("id").executeTakeFirstOrThrow();
    const stored = { id: Number(id), ...update };
    if (engine === "postgres") {
      const notice: StatusNotice = { origin: PROCESS_ID, update: stored };
      await sql`SELECT pg_notify(${STATUS_CHANNEL}, ${JSON.stringify(notice)})`.execute(trx);
    }
    return stored;
  });
}

// The whole history, or one model's, oldest first.
export async function listStatusUpdates({ model }: { model?: string } = {}): Promise<StatusUpdate[]> {
  const { db } = await getStore();
  let query = db.selectFrom("status_updates").select(["id", "model_key", "status", "progress", "source", "at"]).orderBy("id");
  if (model !== undefined) query = query.where("model_key", "=", model);
  return (await query.execute()) as StatusUpdate[];
}
