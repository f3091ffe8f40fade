import { LocalTime } from "@/components/ui/local-time";
import { ALERT_STATE, DELIVERY_STATE, deliverySummary, type Alert } from "./labels";

// One alert in full: what fired, about what, since when, the message, and how each channel took it.
export function AlertItem({ alert }: { alert: Alert }) {
  const state = ALERT_STATE[alert.state];
  return (
    <li className="border-t border-line py-3 first:border-t-0" data-testid="alert" data-state={alert.state}>
      <div className="flex flex-wrap items-center justify-between gap-2">
        <p className="min-w-0 font-semibold break-words">
          {alert.rule} <span className="font-normal text-muted">· {alert.subject}</span>
        </p>
        <span className={`badge ${state.tone === "danger" ? "badge-danger" : ""}`}>
          <span className={`dot dot-${state.tone}`} aria-hidden="true" />
          {state.label}
        </span>
      </div>
      <p className="mt-1 text-sm break-words">{alert.message}</p>
      <p className="mt-1 text-xs text-muted">
        Since <LocalTime iso={alert.since} />
        {alert.resolved_at && (
          <>
            {" "}
            · resolved <LocalTime iso={alert.resolved_at} />
          </>
        )}
      </p>
      {alert.deliveries.length > 0 && (
        <ul className="mt-2 space-y-1 text-xs" aria-label="Deliveries">
          {alert.deliveries.map((d) => (
            <li key={d.channel} data-testid="alert-delivery" data-state={d.state}>
              <span className="inline-flex items-center gap-1.5">
                <span className={`dot dot-${DELIVERY_STATE[d.state].tone}`} aria-hidden="true" />
                <span className="font-medium">{d.channel}</span>
                <span className="text-muted">{deliverySummary(d)}</span>
              </span>
              {d.last_error && <p className="mt-0.5 pl-3.5 font-mono break-words text-muted">{d.last_error}</p>}
            </li>
          ))}
        </ul>
      )}
    </li>
  );
}
