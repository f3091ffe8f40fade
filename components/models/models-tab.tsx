"use client";

import { EmptyState } from "@/components/ui/empty-state";
import { ShowMore, useShownCount } from "@/components/ui/show-more";
import { useModelsStatus } from "@/hooks/use-models-status";
import { ModelCard } from "./model-card";

export function ModelsTab({ currency }: { currency: string }) {
  const models = useModelsStatus().data?.models ?? [];
  const [shown, showMore] = useShownCount();
  if (models.length === 0) return <EmptyState>No models configured yet</EmptyState>;
  return (
    <>
      <div className="model-grid" data-testid="model-grid">
        {models.slice(0, shown).map((m) => (
          <ModelCard key={m.key} model={m} currency={currency} />
        ))}
      </div>
      <ShowMore shown={shown} total={models.length} onMore={showMore} testId="model-grid-more" />
    </>
  );
}
