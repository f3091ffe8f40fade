"use client";

import { useTrainingStatus } from "@/hooks/use-training-status";
import { isConfigWarning } from "./notices";

// Problems the server found in the data dir (a bad file never fails a request; it is listed here).
// Those in afs.config.json are in the notice banner at the top instead.
export function DataWarnings() {
  const warnings = (useTrainingStatus().data?.warnings ?? []).filter((w) => !isConfigWarning(w));
  if (warnings.length === 0) return null;
  return (
    <details className="text-sm" data-testid="data-warnings">
      <summary className="cursor-pointer text-warning">
        {warnings.length} data warning{warnings.length === 1 ? "" : "s"}
      </summary>
      <ul className="mt-2 list-disc space-y-1 pl-5 font-mono text-xs text-muted">
        {warnings.map((w) => (
          <li key={w}>{w}</li>
        ))}
      </ul>
    </details>
  );
}
