"use client";

import { formatAgo, formatElapsed } from "@/components/format";
import { useNow } from "@/hooks/use-now";
import { useTrainingStatus } from "@/hooks/use-training-status";
import { useActivity } from "./data-provider";

// "Session 2:04:09 · Updated 5 s ago", ticking every second.
export function SessionClock() {
  const { lastUpdated, serverNow } = useActivity();
  const now = useNow(serverNow);
  const { data } = useTrainingStatus();
  const start = data ? Date.parse(data.session_start) : NaN;
  return (
    <p className="flex flex-wrap items-center gap-x-3 gap-y-1 text-sm text-muted">
      <span>
        Session time{" "}
        <span data-testid="session-elapsed" className="font-mono tabular-nums text-fg">
          {Number.isNaN(start) ? "—" : formatElapsed(now - start)}
        </span>
      </span>
      <span aria-hidden="true">·</span>
      <span data-testid="updated-ago">Updated {formatAgo(now - lastUpdated)}</span>
    </p>
  );
}
