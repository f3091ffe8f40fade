"use client";

import { formatClockTime } from "@/components/format";
import { useHydrated } from "@/hooks/use-hydrated";
import { useActivity } from "./data-provider";

// Shown while any request fails; the data on screen is the last that arrived.
export function ErrorBanner() {
  const { failures, lastUpdated } = useActivity();
  const hydrated = useHydrated();
  const messages = [...new Set(Object.values(failures))];
  if (messages.length === 0) return null;
  return (
    <div role="alert" data-testid="error-banner" className="banner-error">
      <div className="mx-auto flex max-w-7xl items-start gap-3 px-4 py-3 text-sm">
        <svg aria-hidden="true" viewBox="0 0 24 24" className="mt-0.5 h-4 w-4 shrink-0" fill="none" stroke="currentColor" strokeWidth="2">
          <path d="M12 9v4M12 17h.01M10.29 3.86 1.82 18a2 2 0 0 0 1.71 3h16.94a2 2 0 0 0 1.71-3L13.71 3.86a2 2 0 0 0-3.42 0z" />
        </svg>
        <p>
          <strong className="font-semibold">Could not refresh:</strong> {messages.join("; ")}.{" "}
          {hydrated ? `Showing the data received at ${formatClockTime(lastUpdated)}.` : "Showing the last data received."}
        </p>
      </div>
    </div>
  );
}
