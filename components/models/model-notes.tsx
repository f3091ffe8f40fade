"use client";

import { useActivity } from "@/components/dashboard/data-provider";
import { formatMinutes } from "@/components/format";
import { useNow } from "@/hooks/use-now";
import type { ModelStatus } from "@/lib/schemas/api";

// What the model row and the model card say beside a model's figures: a stalled run, a config
// entry with invalid fields, a figure that is configured rather than measured.

// Beside the `running` badge while the model's run has stopped writing.
export function StalledBadge({ since }: { since: string }) {
  const { serverNow } = useActivity();
  const now = useNow(serverNow, 15_000);
  return (
    <span className="badge badge-warning" data-testid="stalled-badge" title="Running, but its run has written no new record for this long">
      Stalled for {formatMinutes(now - Date.parse(since))}
    </span>
  );
}

export function ConfigErrors({ errors }: { errors: string[] }) {
  if (errors.length === 0) return null;
  return (
    <p className="flex items-start gap-1.5 text-xs font-normal whitespace-normal text-warning" data-testid="config-errors">
      <svg aria-hidden="true" viewBox="0 0 24 24" className="mt-px h-3.5 w-3.5 shrink-0" fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M12 9v4M12 17h.01M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0z" />
      </svg>
      <span>Invalid in afs.config.json, shown at defaults: {errors.join("; ")}</span>
    </p>
  );
}

// Marks a figure taken from the config as written: nothing measured it.
export function ConfiguredMarker({ source }: { source: ModelStatus["gpu_hours_source"] }) {
  if (source === "vastai") {
    return (
      <span className="ml-1 text-xs font-normal text-muted" data-testid="vastai-marker" title="What its vast.ai instance billed while the model was on it">
        vast.ai
      </span>
    );
  }
  if (source !== "configured") return null;
  return (
    <span className="ml-1 text-xs font-normal text-muted" data-testid="configured-marker" title="From afs.config.json, not measured">
      configured
    </span>
  );
}
