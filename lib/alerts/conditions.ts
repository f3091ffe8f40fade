import { formatMoney } from "@/components/format";
import type { Snapshot } from "@/lib/models";
import type { Host } from "@/lib/schemas/api";
import type { AlertCondition, AlertRule } from "@/lib/schemas/config";

// Which alert conditions hold now, per rule and subject (a model, a host, a host's GPU, the
// budget), with what to say about it. Pure: the engine decides what fires.

export type Observed = {
  rule: AlertRule;
  subject: string;
  // When the condition began, where the data says (a stall, an idle stretch); else first seen.
  since: number | null;
  title: string;
  detail: string;
};

// The dashboard tab each condition is about, for the message's link.
export const TAB_OF: Record<AlertCondition, "models" | "costs" | "hosts"> = {
  model_completed: "models",
  model_failed: "models",
  run_stalled: "models",
  gpu_idle: "hosts",
  budget_spent: "costs",
  host_unreachable: "hosts",
  gpu_temperature: "hosts",
  gpu_error: "hosts",
};

// Conditions that are events: they fire once and end without a "resolved" message.
export const EVENT_CONDITIONS = new Set(["model_completed", "model_failed"]);

const MIN = 60_000;

export function observe({
  snapshot,
  hosts,
  rules,
  ruleSince,
}: {
  snapshot: Pick<Snapshot, "config" | "models" | "details" | "idle" | "now">;
  hosts: Host[];
  rules: AlertRule[];
  // When each rule was first evaluated: an end before it is not news.
  ruleSince: Map<string, number>;
}): Observed[] {
  const { config, models, details, now } = snapshot;
  const money = (usd: number) => formatMoney(usd, config.session.currency);
  const found: Observed[] = [];
  for (const rule of rules) {
    const add = (o: Omit<Observed, "rule">) => found.push({ rule, ...o });
    switch (rule.when) {
      case "model_completed":
      case "model_failed": {
        const status = rule.when === "model_completed" ? "completed" : "failed";
        for (const m of models) {
          const d = details.get(m.key)!;
          if (m.status !== status || d.ended_at === null || d.ended_at < ruleSince.get(rule.name)!) continue;
          const ran = d.started_at === null ? null : d.ended_at - d.started_at;
          const facts = [ran === null ? null : duration(ran), money(m.total_cost), m.evaluation_score === null ? null : `eval ${m.evaluation_score}`];
          if (status === "failed") facts.unshift(`at ${m.progress}%`);
          add({ subject: m.key, since: d.ended_at, title: `${m.name} ${status}`, detail: facts.filter(Boolean).join(", ") });
        }
        break;
      }
      case "run_stalled":
        for (const m of models) {
          if (m.stalled_since === null) continue;
          const since = Date.parse(m.stalled_since);
          add({ subject: m.key, since, title: `${m.name} stalled`, detail: `no new record for ${duration(now - since)}, at ${m.progress}%` });
        }
        break;
      case "gpu_idle":
        for (const gpu of snapshot.idle) {
          add({
            subject: `${gpu.host}/gpu${gpu.index}`,
            since: gpu.since,
            title: `GPU ${gpu.index} on ${gpu.host} idle while billed`,
            detail: `idle for ${duration(now - gpu.since)}, billed ${money(gpu.usd_per_hour)}/h`,
          });
        }
        break;
      case "budget_spent": {
        const budget = config.session.budget_usd;
        const spent = models.reduce((sum, m) => sum + details.get(m.key)!.total_cost, 0);
        if (!budget || (spent / budget) * 100 < rule.threshold_percent!) break;
        add({
          subject: "budget",
          since: null,
          title: `${Math.floor((spent / budget) * 100)}% of the budget spent`,
          detail: `${money(spent)} of ${money(budget)} (threshold ${rule.threshold_percent}%)`,
        });
        break;
      }
      case "host_unreachable":
        for (const h of hosts) {
          if (h.state !== "unreachable") continue;
          add({ subject: h.name, since: null, title: `${h.name} unreachable`, detail: [h.reason, h.last_seen ? `last seen ${h.last_seen}` : "never seen"].filter(Boolean).join("; ") });
        }
        break;
      case "gpu_temperature":
        for (const h of hosts) {
          for (const gpu of h.gpus) {
            if (gpu.temperature_c === null || gpu.temperature_c <= rule.above_c!) continue;
            add({ subject: `${h.name}/gpu${gpu.index}`, since: null, title: `GPU ${gpu.index} on ${h.name} at ${gpu.temperature_c} °C`, detail: `above ${rule.above_c} °C` });
          }
        }
        break;
      case "gpu_error":
        for (const h of hosts) {
          for (const gpu of h.gpus) {
            if (gpu.error === null) continue;
            add({ subject: `${h.name}/gpu${gpu.index}`, since: null, title: `GPU ${gpu.index} on ${h.name} reports an error`, detail: gpu.error });
          }
        }
        break;
    }
  }
  return found;
}

// "3 h 12 min", "14 min", "40 s".
export function duration(ms: number): string {
  if (ms < MIN) return `${Math.max(0, Math.round(ms / 1000))} s`;
  const minutes = Math.round(ms / MIN);
  return minutes < 60 ? `${minutes} min` : `${Math.floor(minutes / 60)} h ${minutes % 60} min`;
}
