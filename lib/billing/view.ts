import "server-only";
import type { Snapshot } from "@/lib/models";
import { round } from "@/lib/numbers";
import type { BillingInstancesResponse, CostTimelineResponse } from "@/lib/schemas/api";
import { TIME_RANGES } from "@/lib/schemas/time-range";
import { spentAt } from "./accrual";

export const TIMELINE_RANGES = ["1h", "24h", "7d", "30d"] as const;
export type TimelineRange = (typeof TIMELINE_RANGES)[number];

// The periods of the GPU history's rollups for the same ranges.
const PERIOD_MS: Record<TimelineRange, number> = { "1h": 60_000, "24h": 600_000, "7d": 3_600_000, "30d": 3_600_000 };

const iso = (ms: number) => new Date(ms).toISOString();

export function billingInstances({ billing }: Pick<Snapshot, "billing">): BillingInstancesResponse {
  return {
    state: billing.state,
    ...(billing.reason ? { reason: billing.reason } : {}),
    last_polled: billing.last_polled === null ? null : iso(billing.last_polled),
    stale: billing.stale,
    instances: billing.instances.map((i) => ({
      id: i.id,
      label: i.label,
      state: i.state,
      dph_total: i.dph_total,
      storage_total_cost: i.storage_total_cost,
      start_date: i.start_date,
      observed_since: iso(i.observed_since),
      accrued_usd: i.accrued_usd,
      num_gpus: i.num_gpus,
      gpu_name: i.gpu_name,
      models: i.models,
      ...(i.destroyed_at === undefined ? {} : { destroyed_at: iso(i.destroyed_at) }),
    })),
    warnings: billing.warnings,
  };
}

// Each model's cumulative spend at the end of each period of the range (the last one ends now),
// from its first spending period on. A model whose cost is configured hours, not placed in time,
// is left out with a warning.
export function costTimeline({ config, details, now }: Pick<Snapshot, "config" | "details" | "now">, { range }: { range: TimelineRange }): CostTimelineResponse {
  const period = PERIOD_MS[range];
  const from = now - TIME_RANGES[range];
  const ends: number[] = [];
  for (let t = Math.floor(from / period) * period + period; t < now; t += period) ends.push(t);
  ends.push(now);
  const metrics: CostTimelineResponse["metrics"] = [];
  const warnings: string[] = [];
  for (const { key } of config.models) {
    const { pieces, total_cost } = details.get(key)!;
    if (!pieces.length) {
      if (total_cost > 0) warnings.push(`${key}: its cost comes from configured gpu_hours, which are not placed in time; left out`);
      continue;
    }
    for (const t of ends) {
      if (t <= pieces[0].from) continue;
      metrics.push({ timestamp: iso(t), model: key, cost_usd: round(spentAt({ pieces, at: t }).usd, 4) });
    }
  }
  return { range, period_seconds: period / 1000, metrics, warnings };
}
