import "server-only";
import type { VastInstance } from "@/lib/billing/vastai";
import { getStore } from "./db";

// One poll of vast.ai's instance list: "ok" with the instances it listed, or the state it
// failed with ("auth_failed", "rate_limited", "error") and why.
export type StoredPoll = { at: number; state: string; reason: string | null; warnings: string[]; instances: VastInstance[] };

const INSERT_BATCH = 500;

export async function insertVastPoll(poll: StoredPoll): Promise<void> {
  const { db } = await getStore();
  await db.transaction().execute(async (trx) => {
    await trx.insertInto("vast_polls").values({ at: poll.at, state: poll.state, reason: poll.reason, warnings: JSON.stringify(poll.warnings) }).execute();
    for (let i = 0; i < poll.instances.length; i += INSERT_BATCH) {
      const rows = poll.instances.slice(i, i + INSERT_BATCH).map((v) => ({
        at: poll.at,
        id: v.id,
        label: v.label,
        state: v.cur_state ?? v.actual_status ?? "unknown",
        dph_total: v.dph_total,
        storage_total_cost: v.storage_total_cost,
        start_date: v.start_date,
        num_gpus: v.num_gpus,
        gpu_name: v.gpu_name,
        ssh_host: v.ssh_host,
        ssh_port: v.ssh_port,
      }));
      await trx.insertInto("vast_instances").values(rows).execute();
    }
  });
}

// The polls after `after` (epoch ms), oldest first, each with its instances. The instance's
// state is stored resolved (cur_state, else actual_status), so it reads back as cur_state.
export async function loadVastPolls({ after }: { after: number }): Promise<StoredPoll[]> {
  const { db } = await getStore();
  // Polls first: a poll read is committed with its instances, which the second read then sees.
  const polls = await db.selectFrom("vast_polls").selectAll().where("at", ">", after).orderBy("at").execute();
  if (!polls.length) return [];
  const rows = await db.selectFrom("vast_instances").selectAll().where("at", ">", after).where("at", "<=", polls.at(-1)!.at).orderBy("at").orderBy("id").execute();
  const byAt = new Map<number, VastInstance[]>();
  for (const { at, state, ...row } of rows) {
    const list = byAt.get(at) ?? [];
    list.push({ ...row, cur_state: state, actual_status: state, intended_status: null, gpu_util: null });
    byAt.set(at, list);
  }
  return polls.map((p) => ({ ...p, warnings: JSON.parse(p.warnings) as string[], instances: byAt.get(p.at) ?? [] }));
}
