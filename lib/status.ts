import "server-only";
import { loadConfig } from "@/lib/data/config";
import { getEnv } from "@/lib/env";
import { publishEvent } from "@/lib/events";
import { findModel, getModelStatus } from "@/lib/models";
import type { ModelStatus, UpdateStatusBody } from "@/lib/schemas/api";
import { insertStatusUpdate } from "@/lib/store/status-updates";

// Appends to the model's history; the answer is the model's status after the write.
export async function updateStatus(body: UpdateStatusBody & { source: string }): Promise<ModelStatus> {
  const { config } = await loadConfig({ dataDir: getEnv().dataDir });
  findModel(config.models, body.model_key);
  insertStatusUpdate({ ...body, at: new Date().toISOString() });
  const status = await getModelStatus({ key: body.model_key });
  publishEvent({ type: "status", data: status });
  return status;
}
