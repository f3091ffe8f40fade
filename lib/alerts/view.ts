import "server-only";
import type { AlertsResponse } from "@/lib/schemas/api";
import { listAlerts } from "@/lib/store/alerts";

const DAY_MS = 86_400_000;

// GET /api/alerts: open alerts first (firing, then pending), then those resolved in the last day;
// of the snapshot's warnings, those about the alerts config.
export async function alertsAnswer({ now, snapshotWarnings }: { now: number; snapshotWarnings: string[] }): Promise<AlertsResponse> {
  const warnings = snapshotWarnings.filter((w) => w.startsWith("afs.config.json: alerts"));
  const rows = await listAlerts({ since: now - DAY_MS });
  const order = { firing: 0, pending: 1, resolved: 2 };
  const alerts = rows
    .sort((a, b) => order[a.state] - order[b.state] || b.since - a.since)
    .map((a) => ({
      rule: a.rule,
      subject: a.subject,
      state: a.state,
      since: new Date(a.since).toISOString(),
      ...(a.resolved_at === null ? {} : { resolved_at: new Date(a.resolved_at).toISOString() }),
      message: a.message,
      deliveries: a.deliveries.map((d) => ({
        channel: d.channel,
        // "sending" is an attempt under way (or cut short by a restart): it will be tried again.
        state: d.state === "sending" ? ("retrying" as const) : d.state,
        attempts: d.attempts,
        ...(d.last_error ? { last_error: d.last_error } : {}),
      })),
    }));
  // A channel whose newest delivery found it broken says so until one gets through.
  const newest = new Map(rows.flatMap((a) => a.deliveries).sort((a, b) => a.created_at - b.created_at).map((d) => [d.channel, d]));
  const broken = [...newest.values()].filter((d) => d.state === "broken").map((d) => `alerts: channel "${d.channel}" is broken: ${d.last_error}`);
  return { alerts, firing: alerts.filter((a) => a.state === "firing").length, warnings: [...warnings, ...broken] };
}
