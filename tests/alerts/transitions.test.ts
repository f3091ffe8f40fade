import { describe, expect, it } from "vitest";
import { duration, type Observed } from "@/lib/alerts/conditions";
import { transitions } from "@/lib/alerts/engine";
import { parseConfig } from "@/lib/data/config";
import type { AlertRule } from "@/lib/schemas/config";
import type { AlertRow } from "@/lib/store/alerts";

// When alerts open, fire, repeat and resolve, and what they send: the pure step of the engine.

const MIN = 60_000;
const T0 = Date.UTC(2026, 10, 30, 12, 0, 0);
const rule = (over: Partial<AlertRule> & Pick<AlertRule, "name" | "when">): AlertRule => ({ channels: ["team"], for_minutes: 0, ...over });
const stalled = rule({ name: "run stalled", when: "run_stalled", for_minutes: 15 });
const completed = rule({ name: "run finished", when: "model_completed" });
const hot = rule({ name: "GPU hot", when: "gpu_temperature", above_c: 85, repeat_minutes: 30 });
const seen = (r: AlertRule, subject: string, title: string, since: number | null = null): Observed => ({ rule: r, subject, since, title, detail: "details" });
const step = (open: AlertRow[], observed: Observed[], now: number) => transitions({ open, observed, rules: [stalled, completed, hot], now, session: "S" });
// The store's view after a step: what opened gets an id.
const applied = (open: AlertRow[], changes: ReturnType<typeof step>): AlertRow[] => {
  const next = open.map((a) => {
    const c = changes.changed.find((x) => x.id === a.id);
    return c ? { ...a, state: c.state, fired_at: c.fired_at, resolved_at: c.resolved_at, last_sent_at: c.last_sent_at, message: c.message } : a;
  });
  changes.opened.forEach(({ notifications: _, ...a }, i) => next.push({ ...a, id: 100 + open.length + i }));
  return next.filter((a) => a.state !== "resolved");
};
const sent = (changes: ReturnType<typeof step>) => [...changes.opened, ...changes.changed].flatMap((c) => c.notifications.map((n) => `${n.kind}: ${n.text}`));

describe("transitions", () => {
  it("holds a condition for for_minutes before firing, sends once, and once more when it resolves", () => {
    const since = T0 - 5 * MIN;
    let open: AlertRow[] = [];
    // stalled 5 min ago: pending, nothing sent
    let changes = step(open, [seen(stalled, "veran-v5", "Veran v5 stalled", since)], T0);
    expect(changes.opened).toMatchObject([{ state: "pending", since, fired_at: null }]);
    expect(sent(changes)).toEqual([]);
    open = applied(open, changes);
    // 15 minutes after the stall began: fires, one message
    changes = step(open, [seen(stalled, "veran-v5", "Veran v5 stalled", since)], since + 15 * MIN);
    expect(sent(changes)).toEqual(["firing: Veran v5 stalled: details"]);
    open = applied(open, changes);
    // still stalled a minute on: nothing new (no repeat_minutes)
    expect(sent(step(open, [seen(stalled, "veran-v5", "Veran v5 stalled", since)], since + 16 * MIN))).toEqual([]);
    // a new record: resolved, one message
    changes = step(open, [], since + 20 * MIN);
    expect(changes.changed).toMatchObject([{ state: "resolved", resolved_at: since + 20 * MIN }]);
    expect(sent(changes)).toEqual(["resolved: Resolved after 20 min: Veran v5 stalled: details"]);
  });

  it("lets a pending alert that never fired go without a word", () => {
    const open = applied([], step([], [seen(stalled, "m", "m stalled", T0)], T0));
    const changes = step(open, [], T0 + MIN);
    expect(changes.changed).toMatchObject([{ state: "resolved" }]);
    expect(sent(changes)).toEqual([]);
  });

  it("fires an event once and ends it silently", () => {
    let open = applied([], step([], [seen(completed, "veran-v5", "Veran v5 completed")], T0));
    expect(open).toMatchObject([{ state: "firing", fired_at: T0 }]);
    expect(sent(step(open, [seen(completed, "veran-v5", "Veran v5 completed")], T0 + 60 * MIN))).toEqual([]);
    const changes = step(open, [], T0 + 61 * MIN);
    open = applied(open, changes);
    expect(sent(changes)).toEqual([]);
    expect(open).toEqual([]);
  });

  it("repeats a firing alert every repeat_minutes, one alert per subject", () => {
    const both = [seen(hot, "box/gpu0", "GPU 0 hot"), seen(hot, "box/gpu1", "GPU 1 hot")];
    let changes = step([], both, T0);
    expect(sent(changes)).toEqual(["firing: GPU 0 hot: details", "firing: GPU 1 hot: details"]);
    let open = applied([], changes);
    expect(sent(step(open, both, T0 + 29 * MIN))).toEqual([]);
    changes = step(open, both, T0 + 30 * MIN);
    expect(sent(changes)).toEqual(["firing: GPU 0 hot: details", "firing: GPU 1 hot: details"]);
    open = applied(open, changes);
    expect(open.map((a) => a.last_sent_at)).toEqual([T0 + 30 * MIN, T0 + 30 * MIN]);
  });

  it("gives every notification its own id and the link only with AFS_PUBLIC_URL", () => {
    const changes = step([], [seen(completed, "a", "A completed"), seen(completed, "b", "B completed")], T0);
    const [a, b] = changes.opened.map((o) => o.notifications[0]);
    expect(a.id).not.toBe(b.id);
    expect(a).toMatchObject({ kind: "firing", rule: "run finished", subject: "a", session: "S", link: null, at: new Date(T0).toISOString() });
  });
});

describe("duration", () => {
  it("reads like a person wrote it", () => {
    expect([duration(40_000), duration(14 * MIN), duration(192 * MIN)]).toEqual(["40 s", "14 min", "3 h 12 min"]);
  });
});

describe("the alerts config", () => {
  it("keeps what is right, names what is not, and never quotes a webhook URL", () => {
    process.env.AFS_TEST_SLACK_URL = "https://hooks.slack.com/services/T000/B000/secret-token";
    delete process.env.AFS_TEST_UNSET;
    const { config, problems } = parseConfig(
      {
        models: [],
        alerts: {
          channels: [
            { name: "team", type: "slack", url_env: "AFS_TEST_SLACK_URL" },
            { name: "nowhere", type: "discord", url_env: "AFS_TEST_UNSET" },
            { name: "mail", type: "email", to: ["ml@example.com"] },
            { name: "bad", type: "pager" },
          ],
          rules: [
            { name: "done", when: "model_completed", channels: ["team", "nowhere"] },
            { name: "money", when: "budget_spent", channels: ["mail"] },
            { name: "odd", when: "moon_phase", channels: ["team"] },
            { name: "lost", when: "host_unreachable", for_minutes: 5, channels: ["nowhere"] },
          ],
        },
      },
      { duplicatesOf: () => [], maxModels: 10 },
    );
    expect(config.alerts.channels.map((c) => [c.name, c.type, c.url, c.to])).toEqual([
      ["team", "slack", "https://hooks.slack.com/services/T000/B000/secret-token", []],
      ["mail", "email", null, ["ml@example.com"]],
    ]);
    expect(config.alerts.rules.map((r) => [r.name, r.channels])).toEqual([["done", ["team"]]]);
    expect(problems).toEqual([
      "alerts.channels[1] (nowhere): AFS_TEST_UNSET is not set (channel not used)",
      expect.stringMatching(/^alerts\.channels\[3\]\.type: .* \(channel not used\)$/),
      'alerts.rules[0] (done): no channel "nowhere" (not sent there)',
      "alerts.rules[1] (money): budget_spent needs threshold_percent (rule not used)",
      expect.stringMatching(/^alerts\.rules\[2\]\.when: .* \(rule not used\)$/),
      'alerts.rules[3] (lost): no channel "nowhere" (not sent there)',
      "alerts.rules[3] (lost): no usable channel (rule not used)",
    ]);
    expect(problems.join("\n")).not.toContain("secret-token");
  });
});
