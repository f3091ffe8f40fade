import "server-only";
import type { VastInstance } from "@/lib/billing/vastai";
import { getStore } from "./db";

// One instance as a poll keeps it: state is cur_state, else actual_status (what bills).
export type StoredInstance = Pick<VastInstance, "id" | "label" | "dph_total" | "storage_total_cost" | "start_date" | "num_gpus" | "gpu_name" | "ssh_host" | "ssh_port"> & {
  state: string;
};

// One poll of vast.ai's instance list: "ok" with the instances it listed, or the state it
// failed with ("auth_failed", "rate_limited", "server_error", "error") and why.
export type StoredPoll = { at: number; state: string; reason: string | null; warnings: string[]; instances: StoredInstance[] };

export function toStoredInstance(v: VastInstance): StoredInstance {
  const { id, label, dph_total, storage_total_cost, start_date, num_gpus, gpu_name, ssh_host, ssh_port } = v;
  return { id, label, state: v.cur_state ?? v.actual_status ?? "unknown", dph_total, storage_total_cost, start_date, num_gpus, gpu_name, ssh_host, ssh_port };
}

const INSERT_BATCH = 500;

export async function insertVastPoll(poll: StoredPoll): Promise<void> {
  const { db } = await getStore();
  await db.transaction().execute(async (trx) => {
    await trx.insertInto("vast_polls").values({ at: poll.at, state: poll.state, reason: poll.reason, warnings: JSON.stringify(poll.warnings) }).execute();
    for (let i = 0; i < poll.instances.length; i += INSERT_BATCH) {
      const rows = poll.instances.slice(i, i + INSERT_BATCH).map((v) => ({ at: poll.at, ...v }));
      await trx.insertInto("vast_instances").values(rows).execute();
    }
  });
}

// The polls after `after` (epoch ms), oldest first, each with its instances; at most `limit`.
export async function loadVastPolls({ after, limit = 1000 }: { after: number; limit?: number }): Promise<StoredPoll[]> {
  const { db } = await getStore();
  // Polls first: a poll read is committed with its instances, which the second read then sees.
  const polls = await db.selectFrom("vast_polls").selectAll().where("at", ">", after).orderBy("at").limit(limit).execute();
  if (!polls.length) return [];
  const rows = await db.selectFrom("vast_instances").selectAll().where("at", ">", after).where("at", "<=", polls.at(-1)!.at).orderBy("at").orderBy("id").execute();
  const byAt = new Map<number, StoredInstance[]>();
  for (const { at, ...row } of rows) byAt.set(at, [...(byAt.get(at) ?? []), row]);
  return polls.map((p) => ({ ...p, warnings: JSON.parse(p.warnings) as string[], instances: byAt.get(p.at) ?? [] }));
}
