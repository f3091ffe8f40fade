"use client";

import { formatMoney, formatNumber, formatShare } from "@/components/format";
import { Chip } from "@/components/ui/badge";
import { LocalTime } from "@/components/ui/local-time";
import { StatCard } from "@/components/ui/stat-card";
import { useCosts } from "@/hooks/use-costs";
import { useGpuUtilization } from "@/hooks/use-gpu-utilization";
import { useLiveStream } from "@/hooks/use-live-stream";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useTrainingStatus } from "@/hooks/use-training-status";
import { useUrlState } from "@/hooks/use-url-state";
import { parseRange } from "@/lib/swr/keys";
import { ModelTable } from "./model-table";

export function OverviewTab({ currency }: { currency: string }) {
  const { searchParams } = useUrlState();
  const range = parseRange(searchParams.get("range"));
  const { live } = useLiveStream({ range });
  const training = useTrainingStatus().data;
  const costs = useCosts().data;
  const gpu = useGpuUtilization({ range, live }).data;
  const models = useModelsStatus().data?.models ?? [];
  const paused = models.filter((m) => m.status === "paused").length;
  const running = models.filter((m) => m.status === "running").length;

  const budget = costs?.budget_usd ?? null;
  const remaining = costs?.budget_remaining ?? null;
  const noGpu = !gpu || gpu.source === "none";

  return (
    <div className="grid gap-6">
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
          {budget !== null && remaining !== null && budget > 0 && (
            <div
              className="budget-bar mt-3"
              role="meter"
              aria-label="Budget used"
              aria-valuemin={0}
              aria-valuemax={budget}
              aria-valuenow={Math.min(budget, Math.max(0, budget - remaining))}
              aria-valuetext={`${formatShare(Math.max(0, budget - remaining) / budget)} of the budget used`}
              data-over={remaining < 0 || undefined}
            >
              <div style={{ width: `${Math.min(100, Math.max(0, ((budget - remaining) / budget) * 100))}%` }} />
            </div>
          )}
        </StatCard>
        <StatCard testId="stat-models-completed" label="Completed" value={training?.models_completed} display={training?.models_completed ?? "—"} detail={`of ${models.length} models`} />
        <StatCard
          testId="stat-models-running"
          label="Running"
          value={training?.models_in_progress}
          display={training?.models_in_progress ?? "—"}
          detail={paused > 0 ? `${running} running, ${paused} paused` : "in progress"}
        />
        <StatCard testId="stat-models-pending" label="Pending" value={training?.models_pending} display={training?.models_pending ?? "—"} detail="waiting to start" />
        <StatCard testId="stat-models-failed" label="Failed" value={training?.models_failed} display={training?.models_failed ?? "—"} detail={training?.models_failed ? "need attention" : "none"} />
        <StatCard
          testId="stat-estimated-completion"
          label="Estimated completion"
          value={training?.estimated_completion ?? null}
          display={training?.estimated_completion ? <LocalTime iso={training.estimated_completion} /> : "No estimate yet"}
          detail={training?.estimated_completion ? "latest finish among running models" : "needs progress updates from a running model"}
        />
        <StatCard
          testId="stat-gpu-utilization"
          label="GPU utilization now"
          value={gpu?.current_utilization ?? null}
          display={gpu?.current_utilization == null ? "—" : `${formatNumber(gpu.current_utilization, 1)}%`}
          detail={
            noGpu ? (
              "No NVIDIA GPU detected on this host"
            ) : (
              <span className="inline-flex items-center gap-2">
                {gpu.source === "replay" ? <Chip tone="accent">replay</Chip> : gpu.source}
                {live && <Chip>live</Chip>}
              </span>
            )
          }
        />
      </div>
      <ModelTable models={models} currency={currency} />
    </div>
  );
}
