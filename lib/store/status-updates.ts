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

// Counts writes in this process, so a snapshot being built before a write is not handed to a
// reader that comes after it.
const g = globalThis as typeof globalThis & { __afsStatusWrites?: number };

export function statusWriteCount(): number {
  return g.__afsStatusWrites ?? 0;
}

// Append-only: a model's current status is its newest row; the rows before it are its history.
export function insertStatusUpdate(update: Omit<StatusUpdate, "id">): StatusUpdate {
  g.__afsStatusWrites = statusWriteCount() + 1;
  const info = getDb()
    .prepare("INSERT INTO status_updates (model_key, status, progress, source, at) VALUES (@model_key, @status, @progress, @source, @at)")
    .run(update);
  return { id: Number(info.lastInsertRowid), ...update };
}

export function listStatusUpdates(): StatusUpdate[] {
  return getDb().prepare("SELECT id, model_key, status, progress, source, at FROM status_updates ORDER BY id").all() as StatusUpdate[];
}
