import "server-only";
import type { ModelStatusValue } from "@/lib/schemas/config";
import { getDb } from "./db";

export type StatusUpdate = {
  id: number;
  model_key: string;
  status: ModelStatusValue;
  progress: number;
  source: string;
  at: string;
};

// Append-only: a model's current status is its newest row; the rows before it are its history.
export function insertStatusUpdate(update: Omit<StatusUpdate, "id">): StatusUpdate {
  const info = getDb()
    .prepare("INSERT INTO status_updates (model_key, status, progress, source, at) VALUES (@model_key, @status, @progress, @source, @at)")
    .run(update);
  return { id: Number(info.lastInsertRowid), ...update };
}

export function listStatusUpdates(): StatusUpdate[] {
  return getDb().prepare("SELECT id, model_key, status, progress, source, at FROM status_updates ORDER BY id").all() as StatusUpdate[];
}
