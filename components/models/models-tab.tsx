"use client";

import { EmptyState } from "@/components/ui/empty-state";
import { useModelsStatus } from "@/hooks/use-models-status";
import { ModelCard } from "./model-card";

export function ModelsTab({ currency }: { currency: string }) {
  const models = useModelsStatus().data?.models ?? [];
  if (models.length === 0) return <EmptyState>No models configured yet</EmptyState>;
  return (
    <div className="model-grid" data-testid="model-grid">
      {models.map((m) => (
        <ModelCard key={m.key} model={m} currency={currency} />
      ))}
    </div>
  );
}
