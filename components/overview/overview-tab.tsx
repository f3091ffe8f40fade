"use client";

import { useMemo } from "react";
import { OverviewAlerts } from "@/components/alerts/overview-alerts";
import { useActivity } from "@/components/dashboard/data-provider";
import { formatMoney, formatNumber } from "@/components/format";
import { gpuLive, gpuUnavailable } from "@/components/metrics/gpu-source";
import { ReplayChip } from "@/components/metrics/replay-chip";
import { Chip } from "@/components/ui/badge";
import { BudgetMeter } from "@/components/ui/budget-meter";
import { LocalTime } from "@/components/ui/local-time";
import { StatCard } from "@/components/ui/stat-card";
import { useCosts } from "@/hooks/use-costs";
import { useGpuUtilization } from "@/hooks/use-gpu-utilization";
import { useHosts } from "@/hooks/use-hosts";
import { useLiveStream } from "@/hooks/use-live-stream";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useNow } from "@/hooks/use-now";
import { useTrainingStatus } from "@/hooks/use-training-status";
import { useUrlState } from "@/hooks/use-url-state";
import type { CostBreakdownResponse, GpuSnapshot, ModelStatus } from "@/lib/schemas/api";
import { parseTimeRange, type TimeRange } from "@/lib/schemas/time-range";
import { ModelTable } from "./model-table";
import { BUSY_UTILIZATION, countHosts, inProgressDetail, summarizeEstimate } from "./summary";

// Running models left out of the estimate, named in the card; with hundreds the rest are counted.
const MAX_MISSING = 5;
const NO_MODELS: ModelStatus[] = [];

export function OverviewTab({ currency }: { currency: string }) {
  const { searchParams } = useUrlState();
  const range = parseTimeRange(searchParams.get("range"));
  const { live, gpuStatus } = useLiveStream({ range });
  // Often enough that an estimated finish (shown to the minute) is gone soon after it passes.
  const now = useNow(useActivity().serverNow, 15_000);
  const training = useTrainingStatus().data;
  const costs = useCosts().data;
  const models = useModelsStatus().data?.models ?? NO_MODELS;
  const estimate = useMemo(() => (training ? summarizeEstimate({ training, models, now }) : null), [training, models, now]);

  // spent counts what vast.ai instances accrued with no model on them, as total_cost does not.
  const budget = costs?.budget.usd ?? null;
  const remaining = costs?.budget.left ?? null;

  return (
    <div className="grid gap-6">
      <OverviewAlerts />
      <div className="stat-grid">
        <StatCard
          testId="stat-total-cost"
          label="Total cost"
          value={training?.total_cost}
          display={training ? formatMoney(training.total_cost, currency) : "—"}
          detail={costs ? `${formatMoney(costs.hourly_rate, currency)}/GPU hour on average` : null}
        />
        <StatCard
          testId="stat-budget-left"
          label="Budget left"
          value={remaining}
          display={remaining === null ? "No budget" : formatMoney(remaining, currency)}
          detail={budget === null ? "Set session.budget_usd to track it" : `of ${formatMoney(budget, currency)}`}
        >
          {costs && budget !== null && budget > 0 && <BudgetMeter spent={costs.budget.spent} budget={budget} className="mt-3" />}
        </StatCard>
        <StatCard
          testId="stat-burn-rate"
          label="Burn rate"
          value={costs?.burn_rate_usd_per_hour ?? null}
          display={costs ? `${formatMoney(costs.burn_rate_usd_per_hour, currency)}/h` : "—"}
          detail={
            costs &&
            costs.idle.gpus > 0 && (
              <span className="text-warning" data-testid="idle-gpus">
                {costs.idle.gpus} idle GPU{costs.idle.gpus === 1 ? "" : "s"} billed at {formatMoney(costs.idle.usd_per_hour, currency)}/h
              </span>
            )
          }
        />
        <StatCard
          testId="stat-budget-runs-out"
          label="Budget runs out"
          value={costs?.budget.runs_out_at ?? null}
          display={costs ? runsOut(costs.budget) : "—"}
          detail={costs && remaining !== null && `${formatMoney(remaining, currency)} left at ${formatMoney(costs.burn_rate_usd_per_hour, currency)}/h`}
        />
        <StatCard testId="stat-models-completed" label="Completed" value={training?.models_completed} display={training?.models_completed ?? "—"} detail={`of ${models.length} models`} />
        <StatCard
          testId="stat-models-running"
          label="In progress"
          value={training?.models_in_progress}
          display={training?.models_in_progress ?? "—"}
          detail={inProgressDetail(models)}
        />
        <StatCard testId="stat-models-pending" label="Pending" value={training?.models_pending} display={training?.models_pending ?? "—"} detail="waiting to start" />
        <StatCard testId="stat-models-failed" label="Failed" value={training?.models_failed} display={training?.models_failed ?? "—"} detail={training?.models_failed ? "need attention" : "none"} />
        <StatCard
          testId="stat-estimated-completion"
          label="Estimated completion"
          value={estimate?.at ?? null}
          display={estimate?.at ? <LocalTime iso={estimate.at} /> : estimate?.overdue ? "Overdue" : "No estimate yet"}
          detail={
            estimate && (
              <>
                {estimate.detail}
                {estimate.missing.length > 0 && (
                  <ul className="mt-1 text-xs" data-testid="estimate-missing">
                    {estimate.missing.slice(0, MAX_MISSING).map((reason) => (
                      <li key={reason}>{reason}</li>
                    ))}
                    {estimate.missing.length > MAX_MISSING && <li>and {estimate.missing.length - MAX_MISSING} more</li>}
                  </ul>
                )}
              </>
            )
          }
        />
        <GpuNowCard range={range} live={live} gpuStatus={gpuStatus} />
        <HostCards />
      </div>
      <ModelTable currency={currency} />
    </div>
  );
}

// When the budget runs out at the burn rate, or why it does not.
function runsOut(budget: CostBreakdownResponse["budget"]): React.ReactNode {
  if (budget.usd === null) return "No budget";
  if (budget.runs_out_at) return <LocalTime iso={budget.runs_out_at} />;
  return budget.left !== null && budget.left <= 0 ? "Spent" : "Not at this pace";
}

// Its own component: each GPU sample re-renders this card, not the overview around it.
function GpuNowCard({ range, live, gpuStatus }: { range: TimeRange; live: boolean; gpuStatus: GpuSnapshot["status"] | null }) {
  const gpu = useGpuUtilization({ range, live }).data;
  return (
    <StatCard
      testId="stat-gpu-utilization"
      label="GPU utilization now"
      value={gpu?.current_utilization ?? null}
      display={gpu?.current_utilization == null ? "—" : `${formatNumber(gpu.current_utilization, 1)}%`}
      detail={
        !gpu || gpuUnavailable(gpu, gpuStatus) ? (
          "No NVIDIA GPU detected on this host"
        ) : (
          <span className="inline-flex items-center gap-2">
            {gpu.source === "replay" ? <ReplayChip /> : gpu.source}
            {gpuLive({ streaming: live, data: gpu, status: gpuStatus }) && <Chip>live</Chip>}
          </span>
        )
      }
    />
  );
}

// Hosts online and GPUs busy, from /api/hosts (asked every 2 s): their own component, as above.
function HostCards() {
  const hosts = useHosts().data?.hosts;
  const counts = useMemo(() => (hosts ? countHosts(hosts) : null), [hosts]);
  return (
    <>
      <StatCard
        testId="stat-hosts-online"
        label="Hosts online"
        value={counts?.online ?? null}
        display={counts?.online ?? "—"}
        detail={counts && `of ${counts.total} host${counts.total === 1 ? "" : "s"}`}
      />
      <StatCard
        testId="stat-gpus-busy"
        label="GPUs busy"
        value={counts?.busy ?? null}
        display={counts?.busy ?? "—"}
        detail={counts && `${counts.idle} idle; busy from ${BUSY_UTILIZATION}% utilization`}
      />
    </>
  );
}
