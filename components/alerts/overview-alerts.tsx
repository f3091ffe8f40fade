"use client";

import { LocalTime } from "@/components/ui/local-time";
import { useAlerts } from "@/hooks/use-alerts";
import { alertKey, groupAlerts } from "./labels";

// On a phone the firing alerts come before the numbers: the bell's badge is easy to miss there.
// Wider screens have room for the header's bell in view, so this list is hidden from 768 px.
export function OverviewAlerts() {
  const alerts = useAlerts().data?.alerts;
  const firing = alerts ? groupAlerts(alerts).firing : [];
  if (firing.length === 0) return null;
  return (
    <section aria-labelledby="overview-alerts-title" data-testid="overview-alerts" className="card border-danger bg-[var(--color-danger-tint)] min-[768px]:hidden">
      <h2 id="overview-alerts-title" className="text-sm font-semibold">
        {firing.length} alert{firing.length === 1 ? "" : "s"} firing
      </h2>
      <ul className="mt-2 grid gap-2 text-sm">
        {firing.map((a) => (
          <li key={alertKey(a)} className="min-w-0">
            <p className="break-words">
              <span className="font-semibold">{a.rule}</span> · {a.subject}
            </p>
            <p className="text-xs text-muted">
              {a.message} · since <LocalTime iso={a.since} />
            </p>
          </li>
        ))}
      </ul>
    </section>
  );
}
