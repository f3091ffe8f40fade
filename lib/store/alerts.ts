import "server-only";
import type { Notification } from "@/lib/alerts/types";
import { getStore } from "./db";

export type AlertRow = {
  id: number;
  rule: string;
  subject: string;
  state: "pending" | "firing" | "resolved";
  since: number;
  fired_at: number | null;
  resolved_at: number | null;
  last_sent_at: number | null;
  message: string;
};

export type OutboxRow = {
  id: string;
  alert_id: number;
  channel: string;
  kind: Notification["kind"];
  notification: Notification;
  state: "pending" | "sending" | "delivered" | "retrying" | "failed" | "broken";
  attempts: number;
  next_at: number;
  created_at: number;
  last_error: string | null;
  delivered_at: number | null;
};

// What one evaluation changed: alerts opened, alerts moved on, and notifications to send. Written
// in one transaction, so a notification exists exactly when its alert's change does.
export type AlertChanges = {
  opened: (Omit<AlertRow, "id"> & { notifications: Notification[] })[];
  changed: (Pick<AlertRow, "id" | "state" | "fired_at" | "resolved_at" | "last_sent_at" | "message"> & { rule: string; notifications: Notification[] })[];
};

type Channels = (rule: string) => string[];

export async function loadOpenAlerts(): Promise<AlertRow[]> {
  const { db } = await getStore();
  const rows = await db.selectFrom("alerts").selectAll().where("state", "<>", "resolved").orderBy("id").execute();
  return rows as AlertRow[];
}

export async function saveAlertChanges({ changes, channels, now }: { changes: AlertChanges; channels: Channels; now: number }): Promise<void> {
  const { db } = await getStore();
  await db.transaction().execute(async (trx) => {
    const queue = async (alertId: number, rule: string, notifications: Notification[]) => {
      const rows = notifications.flatMap((n) =>
        channels(rule).map((channel) => ({
          id: `${n.id}:${channel}`,
          alert_id: alertId,
          channel,
          kind: n.kind,
          notification: JSON.stringify({ ...n, id: `${n.id}:${channel}` }),
          state: "pending",
          attempts: 0,
          next_at: now,
          created_at: now,
          last_error: null,
          delivered_at: null,
        })),
      );
      if (rows.length) await trx.insertInto("alert_outbox").values(rows).execute();
    };
    for (const { notifications, ...alert } of changes.opened) {
      const { id } = await trx.insertInto("alerts").values(alert).returning("id").executeTakeFirstOrThrow();
      await queue(Number(id), alert.rule, notifications);
    }
    for (const { id, rule, notifications, ...update } of changes.changed) {
      await trx.updateTable("alerts").set(update).where("id", "=", id).execute();
      await queue(id, rule, notifications);
    }
  });
}

// Alerts still open, and those resolved since `since`, newest first, each with its deliveries:
// per channel, its newest notification's.
export async function listAlerts({ since }: { since: number }): Promise<(AlertRow & { deliveries: OutboxRow[] })[]> {
  const { db } = await getStore();
  const alerts = (await db
    .selectFrom("alerts")
    .selectAll()
    .where((eb) => eb.or([eb("state", "<>", "resolved"), eb("resolved_at", ">=", since)]))
    .orderBy("id", "desc")
    .limit(500)
    .execute()) as AlertRow[];
  if (!alerts.length) return [];
  const outbox = await db
    .selectFrom("alert_outbox")
    .selectAll()
    .where(
      "alert_id",
      "in",
      alerts.map((a) => a.id),
    )
    .orderBy("created_at")
    .execute();
  return alerts.map((alert) => {
    const newest = new Map<string, OutboxRow>();
    for (const row of outbox) if (row.alert_id === alert.id) newest.set(row.channel, parseOutbox(row));
    return { ...alert, deliveries: [...newest.values()] };
  });
}

export async function dueDeliveries({ now, limit = 50 }: { now: number; limit?: number }): Promise<OutboxRow[]> {
  const { db } = await getStore();
  const rows = await db.selectFrom("alert_outbox").selectAll().where("state", "in", ["pending", "retrying", "sending"]).where("next_at", "<=", now).orderBy("created_at").limit(limit).execute();
  return rows.map(parseOutbox);
}

// Counted before the attempt is made: a process killed during it finds the row "sending" and
// tries again (the receiver can tell by the idempotency key), never fewer times than it tried.
export async function startAttempt({ id }: { id: string }): Promise<void> {
  const { db } = await getStore();
  await db
    .updateTable("alert_outbox")
    .set((eb) => ({ state: "sending", attempts: eb("attempts", "+", 1) }))
    .where("id", "=", id)
    .execute();
}

export async function finishAttempt({ id, ...outcome }: Pick<OutboxRow, "id" | "state" | "next_at" | "last_error" | "delivered_at">): Promise<void> {
  const { db } = await getStore();
  await db.updateTable("alert_outbox").set(outcome).where("id", "=", id).execute();
}

// When a rule was first evaluated: events before it (a run that completed before the rule
// existed) are not news.
export async function ruleStart({ rule, now }: { rule: string; now: number }): Promise<number> {
  const { db } = await getStore();
  const key = `alert_rule_since:${rule}`;
  await db
    .insertInto("meta")
    .values({ key, value: String(now) })
    .onConflict((oc) => oc.column("key").doNothing())
    .execute();
  const row = await db.selectFrom("meta").select("value").where("key", "=", key).executeTakeFirstOrThrow();
  return Number(row.value);
}

function parseOutbox(row: Record<string, unknown>): OutboxRow {
  return { ...(row as unknown as OutboxRow), notification: JSON.parse(row.notification as string) as Notification };
}
