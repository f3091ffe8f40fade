import type { Host, ModelStatus, TrainingStatusResponse } from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";

// The words of the overview's stat cards, from the API's answers. Pure, for the cards and their tests.

// What "In progress" counts: running and paused models.
export function inProgressDetail(models: ModelStatus[]): string {
  const count = (status: ModelStatus["status"]) => models.filter((m) => m.status === status).length;
  const paused = count("paused");
  return paused > 0 ? `${count("running")} running, ${paused} paused` : `${count("running")} running`;
}

export type EstimateSummary = {
  // The estimated finish, only while it is still ahead.
  at: string | null;
  overdue: boolean;
  detail: string;
  // "<model name>: <reason>" for each running model left out of the estimate.
  missing: string[];
};

// The estimated completion card: which running models the estimate covers and why the others
// are not; a finish that has passed is not shown as a time.
export function summarizeEstimate({ training, models, now }: { training: TrainingStatusResponse; models: ModelStatus[]; now: number }): EstimateSummary {
  const { estimate, estimated_completion: at } = training;
  const overdue = at !== null && Date.parse(at) <= now;
  const names = new Map(models.map((m) => [m.key, m.name]));
  const missing = estimate.models.filter((m) => m.at === null).map((m) => `${names.get(m.key) ?? m.key}: ${m.reason ?? "no estimate"}`);
  const total = estimate.models.length;
  let detail: string;
  if (total === 0) detail = "no model is running";
  else if (missing.length > 0) detail = `${total - missing.length} of ${total} running model${total === 1 ? "" : "s"} estimated`;
  else if (overdue) detail = "running past the estimated finish";
  else detail = "latest finish among running models";
  return { at: overdue ? null : at, overdue, detail, missing };
}

// A GPU at 10% utilization or more is busy: an idle card reads 0-3% (the driver, monitoring, a
// desktop), and a training or inference job keeps it far above 10%.
export const BUSY_UTILIZATION = 10;

export type HostCounts = { online: number; total: number; busy: number; idle: number };

// The overview's host and GPU counts. "local" counts only when it has GPUs or models: a laptop
// without a GPU is not a host anyone rents. A host is online when it answers (no_gpu answers
// too); GPUs count on online hosts only, the others' readings being old, and a GPU without a
// utilization reading (lost, erroring) is neither busy nor idle.
export function countHosts(hosts: Host[]): HostCounts {
  const counted = hosts.filter((h) => h.name !== LOCAL_HOST || h.gpus.length > 0 || h.models.length > 0);
  const online = counted.filter((h) => h.state === "online" || h.state === "no_gpu");
  const readings = online.flatMap((h) => h.gpus.map((g) => g.utilization)).filter((u): u is number => u !== null);
  const busy = readings.filter((u) => u >= BUSY_UTILIZATION).length;
  return { online: online.length, total: counted.length, busy, idle: readings.length - busy };
}
