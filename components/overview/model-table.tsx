import { formatHours, formatMoney, formatNumber, formatScore } from "@/components/format";
import { ConfigErrors, ConfiguredMarker, StalledBadge } from "@/components/models/model-notes";
import { StatusBadge } from "@/components/ui/badge";
import { ProgressBar } from "@/components/ui/progress-bar";
import type { ModelStatus } from "@/lib/schemas/api";

// Every model's status at a glance: one row per model. Secondary columns give way on narrow screens.
export function ModelTable({ models, currency }: { models: ModelStatus[]; currency: string }) {
  return (
    <section className="card p-0" aria-labelledby="model-table-title">
      <h2 id="model-table-title" className="px-5 pt-5 text-base font-semibold">
        Models
      </h2>
      <div className="table-scroll" role="region" aria-labelledby="model-table-title" tabIndex={0}>
        <table className="data-table" data-testid="model-table">
          <thead>
            <tr>
              <th scope="col">Model</th>
              <th scope="col" className="hide-xs">
                Status
              </th>
              <th scope="col" className="w-[28%]">
                Progress
              </th>
              <th scope="col" className="num hide-sm">
                Samples
              </th>
              <th scope="col" className="num hide-sm">
                GPU hours
              </th>
              <th scope="col" className="num">
                Cost
              </th>
              <th scope="col" className="num hide-md">
                Eval
              </th>
            </tr>
          </thead>
          <tbody>
            {models.map((m) => (
              <tr key={m.key} data-testid={`model-row-${m.key}`}>
                <th scope="row" className="font-medium whitespace-nowrap">
                  {m.name}
                  <div className="text-xs font-normal text-muted hide-xs">{m.key}</div>
                  {/* Below 480 px the status column folds in under the name. */}
                  <div className="mt-1 show-xs">
                    <Status model={m} />
                  </div>
                  <ConfigErrors errors={m.config_errors} />
                </th>
                <td className="hide-xs">
                  <Status model={m} />
                </td>
                <td>
                  <ProgressBar value={m.progress} status={m.status} label={`${m.name} progress`} />
                </td>
                <td className="num hide-sm">{formatNumber(m.training_samples)}</td>
                {/* The marker goes under the figure, so the column stays narrow; below 480 px it gives way. */}
                <td className="num hide-sm">
                  {formatHours(m.gpu_hours)}
                  <div className="hide-xs">
                    <ConfiguredMarker source={m.gpu_hours_source} />
                  </div>
                </td>
                <td className="num">
                  {formatMoney(m.total_cost, currency)}
                  <div className="hide-xs">
                    <ConfiguredMarker source={m.total_cost_source} />
                  </div>
                </td>
                <td className="num hide-md">{formatScore(m.evaluation_score)}</td>
              </tr>
            ))}
          </tbody>
        </table>
      </div>
    </section>
  );
}

function Status({ model }: { model: ModelStatus }) {
  return (
    <span className="inline-flex flex-wrap gap-1.5">
      <StatusBadge status={model.status} />
      {model.stalled_since && <StalledBadge since={model.stalled_since} />}
    </span>
  );
}
