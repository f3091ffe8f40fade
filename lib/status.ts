import "server-only";
import { findModel } from "@/lib/models";
import type { ModelStatus, UpdateStatusBody } from "@/lib/schemas/api";
import { applyStatusUpdate, getState } from "@/lib/state/live-state";

// Appends to the model's history; the answer is the model's status after the write, which every
// later read shows too (the state also sends it out on the live stream).
export async function updateStatus({ source, ...body }: UpdateStatusBody & { source: string }): Promise<ModelStatus> {
  findModel((await getState()).config.models, body.model_key);
  return (await applyStatusUpdate({ model_key: body.model_key, status: body.status, progress: body.progress, source }))!;
}
