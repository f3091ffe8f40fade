import "server-only";
import { round } from "@/lib/numbers";
import type { Snapshot } from "@/lib/models";
import type { CostBreakdownResponse } from "@/lib/schemas/api";

// Totals, the rate and shares from unrounded figures, each rounded once here.
export function summarizeCosts({ config, models, details, warnings }: Pick<Snapshot, "config" | "models" | "details" | "warnings">): CostBreakdownResponse {
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
    };
  }
  // Weighted by hours; before any hour is spent, the plain mean of the configured rates.
  const hourlyRate =
    totalHours > 0
      ? totalCost / totalHours
      : models.length
        ? models.reduce((sum, m) => sum + m.cost_per_hour, 0) / models.length
        : 0;
  const budget = config.session.budget_usd ?? null;
  return {
    breakdown,
    total_cost: round(totalCost, 4),
    hourly_rate: round(hourlyRate, 4),
    budget_usd: budget,
    budget_remaining: budget === null ? null : round(budget - totalCost, 4),
    warnings,
  };
}
