import type { AlertsResponse } from "@/lib/schemas/api";

export type Alert = AlertsResponse["alerts"][number];
type Delivery = Alert["deliveries"][number];

// The bell's accessible name: the count in words, so it is heard without the badge.
export function bellLabel(firing: number | undefined): string {
  if (firing === undefined) return "Alerts";
  return firing === 0 ? "Alerts: none firing" : `Alerts: ${firing} firing`;
}

// The badge on the bell: none at zero, and capped so it stays one small circle.
export function bellCount(firing: number | undefined): string | null {
  if (!firing) return null;
  return firing > 99 ? "99+" : String(firing);
}

// An alert's identity in a list: a rule fires again for the same subject with a new `since`.
export function alertKey(alert: Alert): string {
  return `${alert.rule}\u0000${alert.subject}\u0000${alert.since}`;
}

// The panel's two lists. The API sends firing alerts first; grouping on the state keeps a
// pending or resolved one out of "Firing" whatever the order.
export function groupAlerts(alerts: Alert[]): { firing: Alert[]; recent: Alert[] } {
  return { firing: alerts.filter((a) => a.state === "firing"), recent: alerts.filter((a) => a.state !== "firing") };
}

export const ALERT_STATE: Record<Alert["state"], { label: string; tone: "danger" | "warning" | "success" }> = {
  firing: { label: "Firing", tone: "danger" },
  pending: { label: "Pending", tone: "warning" },
  resolved: { label: "Resolved", tone: "success" },
};

export const DELIVERY_STATE: Record<Delivery["state"], { label: string; tone: "muted" | "success" | "warning" | "danger" }> = {
  pending: { label: "Not sent yet", tone: "muted" },
  delivered: { label: "Delivered", tone: "success" },
  retrying: { label: "Retrying", tone: "warning" },
  failed: { label: "Failed", tone: "danger" },
  broken: { label: "Channel broken", tone: "danger" },
};

// "Delivered after 2 attempts", "Not sent yet": the words beside a channel's name.
export function deliverySummary(delivery: Delivery): string {
  const { label } = DELIVERY_STATE[delivery.state];
  if (delivery.attempts === 0) return label;
  const attempts = `${delivery.attempts} attempt${delivery.attempts === 1 ? "" : "s"}`;
  return delivery.state === "delivered" ? `${label} after ${attempts}` : `${label}, ${attempts}`;
}
