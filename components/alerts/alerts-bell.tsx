"use client";

import { useRef } from "react";
import { EmptyState } from "@/components/ui/empty-state";
import { useAlerts } from "@/hooks/use-alerts";
import type { AlertsResponse } from "@/lib/schemas/api";
import { AlertItem } from "./alert-item";
import { alertKey, bellCount, bellLabel, groupAlerts, type Alert } from "./labels";

// The header's bell with the number of firing alerts; it opens the alerts as a drawer. A modal
// <dialog> gives the keyboard handling for free: focus moves in, Tab stays in, Escape closes.
export function AlertsBell() {
  const { data, error } = useAlerts();
  const dialog = useRef<HTMLDialogElement>(null);
  const bell = useRef<HTMLButtonElement>(null);
  const count = bellCount(data?.firing);
  const close = () => dialog.current?.close();

  return (
    <>
      <button
        ref={bell}
        type="button"
        data-testid="alerts-bell"
        aria-label={bellLabel(data?.firing)}
        aria-haspopup="dialog"
        onClick={() => dialog.current?.showModal()}
        className="btn btn-ghost"
      >
        <svg aria-hidden="true" viewBox="0 0 24 24" className="h-4 w-4" fill="none" stroke="currentColor" strokeWidth="2">
          <path d="M18 8A6 6 0 0 0 6 8c0 7-3 9-3 9h18s-3-2-3-9M13.73 21a2 2 0 0 1-3.46 0" />
        </svg>
        <span className="hide-xs">Alerts</span>
        {count && (
          <span data-testid="alerts-bell-count" className="badge badge-danger px-1.5 py-0 tabular-nums">
            {count}
          </span>
        )}
      </button>
      <dialog
        ref={dialog}
        aria-labelledby="alerts-title"
        data-testid="alerts-panel"
        // A click on the backdrop lands on the dialog itself; one inside lands on its content.
        onClick={(event) => {
          if (event.target === event.currentTarget) close();
        }}
        // The browser's own focus return is not in every engine yet.
        onClose={() => bell.current?.focus()}
        className="fixed inset-y-0 right-0 left-auto m-0 h-full max-h-none w-full max-w-md border-l border-line bg-card p-0 text-fg backdrop:bg-black/50"
      >
        <div className="flex min-h-full flex-col">
          <div className="sticky top-0 flex items-center justify-between gap-3 border-b border-line bg-card px-4 py-3">
            <h2 id="alerts-title" className="text-base font-semibold">
              Alerts
            </h2>
            <button type="button" onClick={close} className="btn btn-ghost btn-sm" data-testid="alerts-close">
              Close
            </button>
          </div>
          <div className="grid gap-5 px-4 py-4">
            <PanelBody data={data} error={error} />
          </div>
        </div>
      </dialog>
    </>
  );
}

function PanelBody({ data, error }: { data: AlertsResponse | undefined; error: Error | undefined }) {
  if (!data) return <p className="text-sm text-muted">{error ? `Alerts could not be read: ${error.message}` : "Loading alerts…"}</p>;
  const { firing, recent } = groupAlerts(data.alerts);
  return (
    <>
      {data.alerts.length === 0 ? (
        <EmptyState hint="Alerts that fire stay listed here for 24 hours after they resolve." data-testid="alerts-empty">
          Nothing is firing, and nothing fired in the last 24 hours.
        </EmptyState>
      ) : (
        <>
          <AlertSection title="Firing now" alerts={firing} testId="alerts-firing" empty="Nothing is firing." />
          <AlertSection title="Last 24 hours" alerts={recent} testId="alerts-recent" empty="Nothing else in the last 24 hours." />
        </>
      )}
      {data.warnings.length > 0 && (
        <ul className="list-disc space-y-1 pl-5 font-mono text-xs text-warning" data-testid="alerts-warnings">
          {data.warnings.map((w) => (
            <li key={w}>{w}</li>
          ))}
        </ul>
      )}
    </>
  );
}

function AlertSection({ title, alerts, testId, empty }: { title: string; alerts: Alert[]; testId: string; empty: string }) {
  return (
    <section aria-labelledby={`${testId}-title`} data-testid={testId}>
      <h3 id={`${testId}-title`} className="text-xs font-semibold uppercase tracking-wide text-muted">
        {title}
      </h3>
      {alerts.length === 0 ? (
        <p className="mt-2 text-sm text-muted">{empty}</p>
      ) : (
        <ul className="mt-1">
          {alerts.map((a) => (
            <AlertItem key={alertKey(a)} alert={a} />
          ))}
        </ul>
      )}
    </section>
  );
}
