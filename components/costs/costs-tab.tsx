"use client";

import { useMemo } from "react";
import { formatHours, formatMoney, formatShare } from "@/components/format";
import { BudgetMeter } from "@/components/ui/budget-meter";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { LocalTime } from "@/components/ui/local-time";
import { useCosts } from "@/hooks/use-costs";
import { useModelsStatus } from "@/hooks/use-models-status";
import { ShowMore, useShownCount } from "@/components/ui/show-more";
import { CostDoughnut } from "./cost-doughnut";
import { groupSlices, type CostSlice } from "./slices";
import { VastInstancesCard } from "./vast-instances-card";

// As many slices as the palette has colours, so no two share one.
const DOUGHNUT_SLICES = 6;

export function CostsTab({ currency }: { currency: string }) {
  const costs = useCosts().data;
  const models = useModelsStatus().data?.models ?? [];
  const rows = useMemo(() => {
    if (!costs) return [];
    const names = new Map(models.map((m) => [m.key, m.name]));
    return Object.entries(costs.breakdown).map(([key, c]) => ({ key, name: names.get(key) ?? key, ...c }));
  }, [costs, models]);
  const slices = useMemo<CostSlice[]>(
    () => groupSlices(rows.filter((r) => r.total_cost > 0).map((r) => ({ key: r.key, name: r.name, cost: r.total_cost, share: r.share })), DOUGHNUT_SLICES),
    [rows],
  );
  const [shown, showMore] = useShownCount();

  if (!costs) return <EmptyState>Cost data is not available</EmptyState>;
  const totalHours = rows.reduce((sum, r) => sum + r.gpu_hours, 0);
  const { usd: budget, spent, left, runs_out_at } = costs.budget;
  const used = budget !== null && budget > 0 ? spent / budget : null;
  const money = (usd: number | null) => (usd === null ? "—" : formatMoney(usd, currency));

  return (
    <div className="grid gap-6 min-[1200px]:grid-cols-[minmax(0,2fr)_minmax(0,3fr)]">
      <div className="grid content-start gap-6">
        <Card title="Cost by model" titleId="cost-chart-title">
          {slices.length === 0 ? <EmptyState>No GPU hours billed yet</EmptyState> : <CostDoughnut slices={slices} currency={currency} />}
        </Card>
        <Card title="Burn rate" titleId="burn-title" data-testid="burn-card">
          <p className="text-2xl font-semibold tabular-nums" data-testid="burn-rate" data-value={costs.burn_rate_usd_per_hour}>
            {formatMoney(costs.burn_rate_usd_per_hour, currency)}/h
          </p>
          <p className="mt-1 text-sm text-muted">Running vast.ai instances, stopped ones&apos; storage and the running models&apos; configured rates</p>
          {costs.idle.gpus > 0 && (
            <p className="mt-2 text-sm font-medium text-warning" data-testid="idle-gpus">
              {costs.idle.gpus} idle GPU{costs.idle.gpus === 1 ? "" : "s"} billed at {formatMoney(costs.idle.usd_per_hour, currency)}/h
            </p>
          )}
        </Card>
        <Card title="Budget" titleId="budget-title" data-testid="budget-card">
          {budget === null ? (
            <EmptyState hint="Set session.budget_usd in afs.config.json to track it.">No budget set</EmptyState>
          ) : (
            <>
              <dl className="grid grid-cols-3 gap-4 text-sm">
                <div>
                  <dt className="text-xs text-muted">Budget</dt>
                  <dd className="text-lg font-semibold tabular-nums" data-testid="budget-total">
                    {formatMoney(budget, currency)}
                  </dd>
                </div>
                <div>
                  <dt className="text-xs text-muted">Spent</dt>
                  <dd className="text-lg font-semibold tabular-nums" data-testid="budget-spent">
                    {formatMoney(spent, currency)}
                  </dd>
                </div>
                <div>
                  <dt className="text-xs text-muted">Left</dt>
                  <dd className={`text-lg font-semibold tabular-nums ${(left ?? 0) < 0 ? "text-danger" : ""}`} data-testid="budget-remaining">
                    {formatMoney(left ?? 0, currency)}
                  </dd>
                </div>
              </dl>
              {used !== null && (
                <>
                  <BudgetMeter spent={spent} budget={budget} className="mt-4" />
                  <p className="mt-2 text-xs text-muted">{formatShare(used)} of the budget used</p>
                </>
              )}
              <p className="mt-2 text-sm" data-testid="budget-runs-out">
                {runs_out_at ? (
                  <>
                    Runs out <LocalTime iso={runs_out_at} /> at this pace
                  </>
                ) : (
                  "Does not run out at this pace"
                )}
              </p>
            </>
          )}
        </Card>
      </div>
      <Card title="Breakdown" titleId="cost-table-title" className="self-start">
        <div className="table-scroll" role="region" aria-labelledby="cost-table-title" tabIndex={0}>
          <table className="data-table" data-testid="cost-table">
            <thead>
              <tr>
                <th scope="col">Model</th>
                <th scope="col" className="num">
                  GPU hours
                </th>
                <th scope="col" className="num hide-xs">
                  Rate
                </th>
                <th scope="col" className="num hide-xs">
                  Burn
                </th>
                <th scope="col" className="num">
                  Cost
                </th>
                <th scope="col" className="num">
                  Projected
                </th>
                <th scope="col" className="num">
                  Share
                </th>
              </tr>
            </thead>
            <tbody>
              {rows.slice(0, shown).map((r) => (
                <tr key={r.key} data-testid={`cost-row-${r.key}`}>
                  <th scope="row" className="font-medium">
                    {r.name}
                  </th>
                  <td className="num">{formatHours(r.gpu_hours)}</td>
                  <td className="num hide-xs">{formatMoney(r.cost_per_hour, currency)}/h</td>
                  <td className="num hide-xs">{formatMoney(r.burn_rate_usd_per_hour, currency)}/h</td>
                  <td className="num">{formatMoney(r.total_cost, currency)}</td>
                  <td className="num">
                    {money(r.projected_total_cost)}
                    {r.projected_cost_to_finish !== null && <span className="block text-xs text-muted">{money(r.projected_cost_to_finish)} to finish</span>}
                  </td>
                  <td className="num">{formatShare(r.share)}</td>
                </tr>
              ))}
            </tbody>
            <tfoot>
              <tr>
                <th scope="row">Total</th>
                <td className="num">{formatHours(totalHours)}</td>
                <td className="num hide-xs">{formatMoney(costs.hourly_rate, currency)}/h</td>
                <td className="num hide-xs" />
                <td className="num" data-testid="cost-total">
                  {formatMoney(costs.total_cost, currency)}
                </td>
                <td className="num" />
                <td className="num">{rows.length ? "100.0%" : "—"}</td>
              </tr>
            </tfoot>
          </table>
        </div>
        <ShowMore shown={shown} total={rows.length} onMore={showMore} testId="cost-table-more" />
      </Card>
      <VastInstancesCard currency={currency} className="min-[1200px]:col-span-2" />
    </div>
  );
}
