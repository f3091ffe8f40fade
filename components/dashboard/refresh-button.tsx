"use client";

import { useState } from "react";
import { useSWRConfig } from "swr";

// Revalidates every key in the SWR cache at once.
export function RefreshButton() {
  const { mutate } = useSWRConfig();
  const [busy, setBusy] = useState(false);
  const refresh = async () => {
    setBusy(true);
    try {
      await mutate(() => true);
    } finally {
      setBusy(false);
    }
  };
  return (
    <button type="button" onClick={refresh} aria-busy={busy} disabled={busy} className="btn btn-primary" data-testid="refresh">
      <svg aria-hidden="true" viewBox="0 0 24 24" className={`h-4 w-4 ${busy ? "animate-spin" : ""}`} fill="none" stroke="currentColor" strokeWidth="2">
        <path d="M21 12a9 9 0 1 1-2.64-6.36M21 3v6h-6" />
      </svg>
      <span>{busy ? "Refreshing…" : "Refresh"}</span>
    </button>
  );
}
