import { describe, expect, it } from "vitest";
import { alertKey, bellCount, bellLabel, deliverySummary, groupAlerts, type Alert } from "@/components/alerts/labels";

function alert(over: Partial<Alert>): Alert {
  return { rule: "run failed", subject: "veran-v5", state: "firing", since: "2026-11-26T11:00:00Z", message: "Veran v5 failed", deliveries: [], ...over };
}

describe("the bell", () => {
  it("says the count in words, and nothing before the first answer", () => {
    expect(bellLabel(undefined)).toBe("Alerts");
    expect(bellLabel(0)).toBe("Alerts: none firing");
    expect(bellLabel(1)).toBe("Alerts: 1 firing");
    expect(bellLabel(2)).toBe("Alerts: 2 firing");
  });

  it("shows a badge only while something fires, capped at 99+", () => {
    expect(bellCount(undefined)).toBeNull();
    expect(bellCount(0)).toBeNull();
    expect(bellCount(3)).toBe("3");
    expect(bellCount(99)).toBe("99");
    expect(bellCount(100)).toBe("99+");
  });
});

describe("groupAlerts", () => {
  it("puts firing alerts in the first list and pending or resolved ones in the second, keeping the order", () => {
    const a = alert({ subject: "a" });
    const b = alert({ subject: "b", state: "resolved", resolved_at: "2026-11-26T11:30:00Z" });
    const c = alert({ subject: "c", state: "pending" });
    const d = alert({ subject: "d" });
    expect(groupAlerts([a, b, c, d])).toEqual({ firing: [a, d], recent: [b, c] });
    expect(groupAlerts([])).toEqual({ firing: [], recent: [] });
  });
});

describe("alertKey", () => {
  it("tells apart the same rule and subject firing again later", () => {
    expect(alertKey(alert({}))).not.toBe(alertKey(alert({ since: "2026-11-26T12:00:00Z" })));
    expect(alertKey(alert({ rule: "a b", subject: "c" }))).not.toBe(alertKey(alert({ rule: "a", subject: "b c" })));
  });
});

describe("deliverySummary", () => {
  it("says the state and the attempts", () => {
    expect(deliverySummary({ channel: "hook", state: "pending", attempts: 0 })).toBe("Not sent yet");
    expect(deliverySummary({ channel: "hook", state: "delivered", attempts: 1 })).toBe("Delivered after 1 attempt");
    expect(deliverySummary({ channel: "hook", state: "delivered", attempts: 3 })).toBe("Delivered after 3 attempts");
    expect(deliverySummary({ channel: "hook", state: "retrying", attempts: 2, last_error: "HTTP 503" })).toBe("Retrying, 2 attempts");
    expect(deliverySummary({ channel: "slack", state: "broken", attempts: 1, last_error: "HTTP 404 no_service" })).toBe("Channel broken, 1 attempt");
    expect(deliverySummary({ channel: "mail", state: "failed", attempts: 4 })).toBe("Failed, 4 attempts");
  });
});
