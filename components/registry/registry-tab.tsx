"use client";

import { formatBytes, formatNumber, formatScore } from "@/components/format";
import { DeploymentBadge, StatusBadge } from "@/components/ui/badge";
import { EmptyState } from "@/components/ui/empty-state";
import { ShowMore, useShownCount } from "@/components/ui/show-more";
import { useRegistry } from "@/hooks/use-registry";
import type { RegistryResponse } from "@/lib/schemas/api";
import { CopyKeyButton } from "./copy-key-button";

type Entry = RegistryResponse["models"][number];

export function RegistryTab() {
  const models = useRegistry().data?.models ?? [];
  const [shown, showMore] = useShownCount();
  if (models.length === 0) return <EmptyState>No models in the registry yet</EmptyState>;
  return (
    <>
      <ul className="grid gap-4" data-testid="registry">
        {models.slice(0, shown).map((m) => (
          <li key={m.key}>
            <RegistryEntry model={m} />
          </li>
        ))}
      </ul>
      <ShowMore shown={shown} total={models.length} onMore={showMore} testId="registry-more" />
    </>
  );
}

function RegistryEntry({ model }: { model: Entry }) {
  const titleId = `registry-${model.key}`;
  return (
    <article className="card" aria-labelledby={titleId} data-testid={`registry-${model.key}`}>
      <header className="flex flex-wrap items-center justify-between gap-3">
        <div className="flex min-w-0 flex-wrap items-center gap-x-3 gap-y-1">
          <h3 id={titleId} className="text-base font-semibold">
            {model.name}
          </h3>
          <code className="kbd">{model.key}</code>
          <CopyKeyButton modelKey={model.key} />
        </div>
        <div className="flex flex-wrap items-center gap-2">
          <StatusBadge status={model.status} />
          <DeploymentBadge status={model.deployment_status} />
        </div>
      </header>
      <dl className="mt-4 grid grid-cols-2 gap-4 text-sm min-[768px]:grid-cols-4">
        <div>
          <dt className="text-xs text-muted">Samples</dt>
          <dd className="font-semibold tabular-nums">{formatNumber(model.training_samples)}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted">Training data</dt>
          <dd className="font-semibold tabular-nums">{formatBytes(model.file_size_bytes)}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted">Eval score</dt>
          <dd className="font-semibold tabular-nums">{formatScore(model.evaluation_score)}</dd>
        </div>
        <div>
          <dt className="text-xs text-muted">Artifact files</dt>
          <dd className="font-semibold tabular-nums">{model.files.length}</dd>
        </div>
      </dl>
      {model.files.length > 0 ? (
        <ul className="file-list mt-4" aria-label={`${model.name} files`}>
          {model.files.map((f) => (
            <li key={f.name}>
              <a href={f.download_url} download={f.name} className="link font-mono text-sm" data-testid={`download-${model.key}-${f.name}`}>
                <svg aria-hidden="true" viewBox="0 0 24 24" className="h-3.5 w-3.5 shrink-0" fill="none" stroke="currentColor" strokeWidth="2">
                  <path d="M12 3v12M7 10l5 5 5-5M5 21h14" />
                </svg>
                <span className="truncate">{f.name}</span>
              </a>
              <span className="text-xs tabular-nums text-muted">{formatBytes(f.size_bytes)}</span>
            </li>
          ))}
        </ul>
      ) : (
        <p className="mt-4 text-sm text-muted">No artifact files</p>
      )}
    </article>
  );
}
