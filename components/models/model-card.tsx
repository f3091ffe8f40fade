import { formatBytes, formatHours, formatMoney, formatNumber, formatScore } from "@/components/format";
import { DeploymentBadge, StatusBadge } from "@/components/ui/badge";
import { LocalTime } from "@/components/ui/local-time";
import { ProgressBar } from "@/components/ui/progress-bar";
import type { ModelStatus } from "@/lib/schemas/api";
import { ConfigErrors, ConfiguredMarker, StalledBadge } from "./model-notes";

export function ModelCard({ model, currency }: { model: ModelStatus; currency: string }) {
  const titleId = `model-card-${model.key}`;
  return (
    <article className="card flex flex-col gap-4" aria-labelledby={titleId} data-testid={`model-card-${model.key}`}>
      <header className="flex items-start justify-between gap-3">
        <div className="min-w-0">
          <h3 id={titleId} className="truncate text-base font-semibold">
            {model.name}
          </h3>
          <p className="truncate font-mono text-xs text-muted">{model.key}</p>
        </div>
        <div className="flex shrink-0 flex-col items-end gap-1.5">
          <StatusBadge status={model.status} />
          {model.stalled_since && <StalledBadge since={model.stalled_since} />}
        </div>
      </header>
      <ConfigErrors errors={model.config_errors} />
      <ProgressBar value={model.progress} status={model.status} label={`${model.name} progress`} />
      <dl className="grid grid-cols-2 gap-x-4 gap-y-3 text-sm">
        <Item label="Samples" value={formatNumber(model.training_samples)} hint={formatBytes(model.file_size_bytes)} />
        <Item
          label="GPU hours"
          value={formatHours(model.gpu_hours)}
          marker={<ConfiguredMarker source={model.gpu_hours_source} />}
          hint={`${formatMoney(model.total_cost_source === "vastai" ? model.burn_rate_usd_per_hour : model.cost_per_hour, currency)}/h`}
        />
        <Item label="Cost" value={formatMoney(model.total_cost, currency)} marker={<ConfiguredMarker source={model.total_cost_source} />} />
        <Item label="Eval score" value={formatScore(model.evaluation_score)} hint={model.evaluation_score === null ? "not evaluated" : undefined} />
      </dl>
      <footer className="mt-auto flex items-center justify-between gap-2 border-t border-line pt-3 text-xs text-muted">
        <DeploymentBadge status={model.deployment_status} />
        <span className="truncate">
          <span className="sr-only">Updated </span>
          <LocalTime iso={model.last_update} />
        </span>
      </footer>
    </article>
  );
}

function Item({ label, value, marker, hint }: { label: string; value: string; marker?: React.ReactNode; hint?: string }) {
  return (
    <div>
      <dt className="text-xs text-muted">
        <span className="whitespace-nowrap">{label}</span> {marker}
      </dt>
      <dd className="font-semibold tabular-nums">
        {value}
        {hint && <span className="ml-1.5 text-xs font-normal text-muted">{hint}</span>}
      </dd>
    </div>
  );
}
