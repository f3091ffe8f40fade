import "server-only";
import { randomUUID } from "node:crypto";
import { getEnv } from "@/lib/env";
import { describeError, storeFailure } from "@/lib/errors";
import { listHosts } from "@/lib/hosts/fleet";
import type { Snapshot } from "@/lib/models";
import type { AlertRule } from "@/lib/schemas/config";
import { getState } from "@/lib/state/live-state";
import { dueDeliveries, finishAttempt, loadOpenAlerts, ruleStart, saveAlertChanges, startAttempt, type AlertChanges, type AlertRow } from "@/lib/store/alerts";
import { deliver } from "./channels";
import { duration, EVENT_CONDITIONS, observe, TAB_OF, type Observed } from "./conditions";
import type { Notification } from "./types";

// The job that watches the conditions and sends: one process per store runs it (see holdJob).
export const ALERTS_JOB = "alerts";

const TICK_MS = 1000;
const MIN = 60_000;
// A notification is tried for a day, at 5 s, 10 s, 20 s … at most 10 min apart.
const GIVE_UP_MS = 24 * 3_600_000;
const FIRST_RETRY_MS = 5000;
const MAX_RETRY_MS = 10 * MIN;

// started: when this process began watching; a rule met for the first time counts from then, so
// a run that ends while the first tick is still to come is news too.
// since: each rule's start as stored, by store and rule, read once (it never changes).
type Job = { timer: NodeJS.Timeout | null; running: Promise<void> | null; started: number | null; since: Map<string, number> };
const g = globalThis as typeof globalThis & { __afsAlerts?: Job };
const job = (g.__afsAlerts ??= { timer: null, running: null, started: null, since: new Map() });

export function startAlerts(): void {
  if (job.timer) return;
  job.started = Date.now();
  job.timer = setInterval(() => {
    job.running ??= runAlerts({ now: Date.now() })
      .catch((error) => void (storeFailure(error) || console.error(`[afs] alerts: ${describeError(error)}`)))
      .finally(() => (job.running = null));
  }, TICK_MS);
  job.timer.unref();
}

export async function stopAlerts(): Promise<void> {
  if (job.timer) clearInterval(job.timer);
  job.timer = null;
  await job.running;
}

// One pass: what the conditions say now becomes alert changes and notifications (stored), then
// every notification due is tried.
export async function runAlerts({ now }: { now: number }): Promise<void> {
  const snapshot = await getState();
  const { rules, channels } = snapshot.config.alerts;
  // Without alerts in the config the store is not asked every second; what waits in the outbox
  // is taken up again (or given up on) once channels are configured.
  if (!rules.length && !channels.length) return;
  if (rules.length) await evaluateAlerts({ snapshot, now });
  await deliverDue({ snapshot, now });
}

async function evaluateAlerts({ snapshot, now }: { snapshot: Snapshot; now: number }) {
  const { rules, channels } = snapshot.config.alerts;
  const ruleSince = new Map<string, number>();
  for (const rule of rules) {
    const key = `${getEnv().storeLabel}\0${rule.name}`;
    if (!job.since.has(key)) job.since.set(key, await ruleStart({ rule: rule.name, now: Math.min(now, job.started ?? now) }));
    ruleSince.set(rule.name, job.since.get(key)!);
  }
  const observed = observe({ snapshot: { ...snapshot, now }, hosts: listHosts({ snapshot }), rules, ruleSince });
  const changes = transitions({ open: await loadOpenAlerts(), observed, rules, now, session: snapshot.config.session.name });
  if (!changes.opened.length && !changes.changed.length) return;
  const known = new Set(channels.map((c) => c.name));
  await saveAlertChanges({ changes, now, channels: (rule) => (rules.find((r) => r.name === rule)?.channels ?? []).filter((c) => known.has(c)) });
}

// From the open alerts and what holds now: a condition newly true opens an alert (pending, or
// firing at once when for_minutes is 0); one that held for_minutes fires; a firing one repeats
// every repeat_minutes; an open one whose condition ended resolves. A notification goes out when
// an alert fires, repeats, and resolves (not for events, and not for one that never fired).
// Pure apart from the notification ids.
export function transitions({ open, observed, rules, now, session }: { open: AlertRow[]; observed: Observed[]; rules: AlertRule[]; now: number; session: string }): AlertChanges {
  const changes: AlertChanges = { opened: [], changed: [] };
  const key = (rule: string, subject: string) => `${rule}\0${subject}`;
  const current = new Map(observed.map((o) => [key(o.rule.name, o.subject), o]));
  const publicUrl = getEnv().alerts.publicUrl;
  const note = ({ rule, subject, title, text }: { rule: AlertRule; subject: string; title: string; text: string }, kind: Notification["kind"]): Notification => ({
    id: randomUUID(),
    rule: rule.name,
    subject,
    kind,
    title,
    text,
    link: publicUrl ? `${publicUrl}/?tab=${TAB_OF[rule.when]}` : null,
    session,
    at: new Date(now).toISOString(),
  });
  const firing = (o: Observed) => note({ ...o, text: `${o.title}: ${o.detail}` }, "firing");
  const due = (o: Observed, since: number) => now - since >= o.rule.for_minutes * MIN;

  for (const o of observed) {
    const alert = open.find((a) => a.rule === o.rule.name && a.subject === o.subject);
    const message = `${o.title}: ${o.detail}`;
    if (!alert) {
      const since = o.since ?? now;
      const fire = due(o, since);
      changes.opened.push({
        rule: o.rule.name,
        subject: o.subject,
        state: fire ? "firing" : "pending",
        since,
        fired_at: fire ? now : null,
        resolved_at: null,
        last_sent_at: fire ? now : null,
        message,
        notifications: fire ? [firing(o)] : [],
      });
      continue;
    }
    const update = { id: alert.id, rule: alert.rule, state: alert.state, fired_at: alert.fired_at, resolved_at: null, last_sent_at: alert.last_sent_at, message, notifications: [] as Notification[] };
    if (alert.state === "pending" && due(o, alert.since)) {
      Object.assign(update, { state: "firing", fired_at: now, last_sent_at: now, notifications: [firing(o)] });
    } else if (alert.state === "firing" && !EVENT_CONDITIONS.has(o.rule.when) && o.rule.repeat_minutes && now - (alert.last_sent_at ?? 0) >= o.rule.repeat_minutes * MIN) {
      Object.assign(update, { last_sent_at: now, notifications: [firing(o)] });
    }
    if (update.state !== alert.state || update.notifications.length || message !== alert.message) changes.changed.push(update);
  }

  for (const alert of open) {
    if (current.has(key(alert.rule, alert.subject))) continue;
    const rule = rules.find((r) => r.name === alert.rule);
    // What it said when it last held, as what is now over.
    const resolved = alert.state === "firing" && rule && !EVENT_CONDITIONS.has(rule.when) ? note({ rule, subject: alert.subject, title: `Resolved: ${alert.message}`, text: `Resolved after ${duration(now - alert.since)}: ${alert.message}` }, "resolved") : null;
    changes.changed.push({
      id: alert.id,
      rule: alert.rule,
      state: "resolved",
      fired_at: alert.fired_at,
      resolved_at: now,
      last_sent_at: resolved ? now : alert.last_sent_at,
      message: alert.message,
      notifications: resolved ? [resolved] : [],
    });
  }
  return changes;
}

// Tries every notification that is due, one at a time; each attempt is counted before it is made.
async function deliverDue({ snapshot, now }: { snapshot: Snapshot; now: number }) {
  for (const row of await dueDeliveries({ now })) {
    const channel = snapshot.config.alerts.channels.find((c) => c.name === row.channel);
    if (!channel) {
      await finishAttempt({ id: row.id, state: "failed", next_at: now, last_error: `no channel "${row.channel}" in the config any more`, delivered_at: null });
      continue;
    }
    await startAttempt({ id: row.id });
    const result = await deliver({ channel, notification: row.notification });
    const at = Date.now();
    if (result.state === "delivered") {
      await finishAttempt({ id: row.id, state: "delivered", next_at: at, last_error: null, delivered_at: at });
    } else if (result.state === "retry" && at - row.created_at < GIVE_UP_MS) {
      const backoff = Math.min(MAX_RETRY_MS, FIRST_RETRY_MS * 2 ** row.attempts);
      await finishAttempt({ id: row.id, state: "retrying", next_at: at + Math.max(backoff, result.retry_after_ms ?? 0), last_error: result.error, delivered_at: null });
    } else {
      const why = result.state === "retry" ? `gave up after 24 h: ${result.error}` : result.error;
      await finishAttempt({ id: row.id, state: result.state === "broken" ? "broken" : "failed", next_at: at, last_error: why, delivered_at: null });
    }
  }
}
