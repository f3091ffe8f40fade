import { modelCosts, rateOf, spentAt, type InstanceAccrual, type ModelWindows, type Piece } from "./accrual";
import type { BillingState, VastPolls } from "./poller";

// What vast.ai's polls say at `now`: each instance's spend, and each linked model's. Pure.

export type BilledInstance = InstanceAccrual & { models: string[] };

export type ModelBill = { instance_id: number; total_cost: number; gpu_hours: number; pieces: Piece[]; burn_usd_per_hour: number };

export type Billing = {
  state: BillingState;
  reason?: string;
  last_polled: number | null;
  stale: boolean;
  instances: BilledInstance[];
  // Per linked model key.
  models: Map<string, ModelBill>;
  // $/h now of the instances that exist: dph_total while running, storage otherwise.
  burn_usd_per_hour: number;
  // Spend no model was on its instance for (unrounded).
  unattributed_usd: number;
  warnings: string[];
};

export const BILLING_OFF: Billing = { state: "off", last_polled: null, stale: false, instances: [], models: new Map(), burn_usd_per_hour: 0, unattributed_usd: 0, warnings: [] };

// models: every model that may be linked, with the windows it ran in (to: null while it runs).
export function billFromPolls({ polls, models, now }: { polls: VastPolls; models: ModelWindows[]; now: number }): Billing {
  const { instances, warnings } = polls.accrual.at(now);
  const costs = modelCosts({ instances, models, now }).filter((c) => c.instance_id !== null);
  const { last, last_ok: lastOk } = polls;
  const live = instances.filter((i) => i.destroyed_at === undefined);
  const billed: BilledInstance[] = instances.map((i) => ({
    ...i,
    models: models.filter((m) => linkedTo(m, i)).map((m) => m.key),
  }));
  const open = (key: string) => models.find((m) => m.key === key)!.windows.some((w) => w.to === null);
  // An instance's rate now is shared by the linked models running on it now.
  const sharing = (i: InstanceAccrual) => models.filter((m) => linkedTo(m, i) && open(m.key)).length;
  const byModel = new Map<string, ModelBill>();
  for (const c of costs) {
    const model = models.find((m) => m.key === c.key)!;
    const burn = open(c.key) ? live.filter((i) => linkedTo(model, i)).reduce((sum, i) => sum + rateOf(i) / sharing(i), 0) : 0;
    byModel.set(c.key, { instance_id: c.instance_id!, total_cost: c.total_cost, gpu_hours: c.gpu_hours, pieces: c.pieces, burn_usd_per_hour: burn });
  }
  const instanceSpend = instances.reduce((sum, i) => sum + i.spent_usd, 0);
  const modelSpend = costs.reduce((sum, c) => sum + spentAt({ pieces: c.pieces, at: Infinity }).usd, 0);
  const failed = last?.state === "ok" ? null : last;
  return {
    state: failed?.state === "auth_failed" ? "auth_failed" : failed ? "error" : "ok",
    ...(failed?.reason ? { reason: failed.reason } : {}),
    last_polled: last?.at ?? null,
    stale: !!failed,
    instances: billed,
    models: byModel,
    burn_usd_per_hour: live.reduce((sum, i) => sum + rateOf(i), 0),
    unattributed_usd: Math.max(0, instanceSpend - modelSpend),
    warnings: [...(lastOk?.warnings ?? []), ...warnings],
  };
}

function linkedTo(model: ModelWindows, instance: InstanceAccrual): boolean {
  return model.instance_id === undefined ? instance.label === model.key : instance.id === model.instance_id;
}
