"use client";

import { useMemo } from "react";
import { useActivity } from "@/components/dashboard/data-provider";
import { EmptyState } from "@/components/ui/empty-state";
import { useHosts } from "@/hooks/use-hosts";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useNow } from "@/hooks/use-now";
import { HostCard } from "./host-card";

export function HostsTab({ currency }: { currency: string }) {
  const hosts = useHosts().data?.hosts;
  const models = useModelsStatus().data?.models;
  const byKey = useMemo(() => new Map(models?.map((m) => [m.key, m])), [models]);
  // One clock for every card's "last seen".
  const now = useNow(useActivity().serverNow);
  if (!hosts) return <EmptyState>Reading the hosts…</EmptyState>;
  return (
    <div className="grid gap-6 min-[1200px]:grid-cols-2" data-testid="host-grid">
      {hosts.map((h) => (
        <HostCard key={h.name} host={h} models={byKey} currency={currency} now={now} />
      ))}
    </div>
  );
}
