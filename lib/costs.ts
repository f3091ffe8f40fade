import "server-only";
import { round } from "@/lib/numbers";
import type { Snapshot } from "@/lib/models";
import type { CostBreakdownResponse } from "@/lib/schemas/api";

const HOUR_MS = 3_600_000;

// Totals, the rate and shares from unrounded figures, each rounded once here.
export function summarizeCosts({ config, models, details, billing, idle, warnings, now }: Pick<Snapshot, "config" | "models" | "details" | "billing" | "idle" | "warnings" | "now">): CostBreakdownResponse {
  const exact = (key: string) => details.get(key)!;
  const totalCost = models.reduce((sum, m) => sum + exact(m.key).total_cost, 0);
  const totalHours = models.reduce((sum, m) => sum + exact(m.key).gpu_hours, 0);
  const breakdown: CostBreakdownResponse["breakdown"] = {};
  for (const m of models) {
    breakdown[m.key] = {
      total_cost: m.total_cost,
      gpu_hours: m.gpu_hours,
      cost_per_hour: m.cost_per_hour,
      share: totalCost > 0 ? round(exact(m.key).total_cost / totalCost, 4) : 0,
      burn_rate_usd_per_hour: m.burn_rate_usd_per_hour,
      projected_cost_to_finish: m.projected_cost_to_finish,
      projected_total_cost: m.projected_total_cost,
    };
  }
  // Weighted by hours; before any hour is spent, the plain mean of the configured rates.
  const hourlyRate =
    totalHours > 0
      ? totalCost / totalHours
      : models.length
        ? models.reduce((sum, m) => sum + m.cost_per_hour, 0) / models.length
        : 0;
  // vast.ai's instances bill whether or not a model is on them; models elsewhere at their rates.
  const burn = billing.burn_usd_per_hour + models.filter((m) => m.total_cost_source !== "vastai").reduce((sum, m) => sum + exact(m.key).burn_usd_per_hour, 0);
  const spent = totalCost + billing.unattributed_usd;
  const budget = config.session.budget_usd ?? null;
  const left = budget === null ? null : budget - spent;
  // When this pace spends what is left; none once it is spent (`left` says so) or nothing burns.
  const runsOut = left !== null && left > 0 && burn > 0 ? now + (left / burn) * HOUR_MS : null;
  return {
    breakdown,
    total_cost: round(totalCost, 4),
    hourly_rate: round(hourlyRate, 4),
    budget_usd: budget,
    budget_remaining: left === null ? null : round(left, 4),
    burn_rate_usd_per_hour: round(burn, 4),
    budget: { usd: budget, spent: round(spent, 4), left: left === null ? null : round(left, 4), runs_out_at: runsOut === null ? null : new Date(runsOut).toISOString() },
    idle: { gpus: idle.length, usd_per_hour: round(idle.reduce((sum, i) => sum + i.usd_per_hour, 0), 4) },
    warnings,
  };
}
