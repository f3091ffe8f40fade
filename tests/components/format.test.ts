import { describe, expect, it } from "vitest";
import { formatAgo, formatBytes, formatDateTime, formatElapsed, formatMinutes, formatMoney, formatScore, formatShare } from "@/components/format";

describe("formatting", () => {
  it("money in the session's currency, two decimals", () => {
    expect(formatMoney(4.08)).toBe("$4.08");
    expect(formatMoney(5.9234, "USD")).toBe("$5.92");
    expect(formatMoney(1234.5, "EUR")).toBe("€1,234.50");
    expect(formatMoney(-1.5)).toBe("-$1.50");
    expect(formatMoney(3, "credits")).toBe("3.00 credits");
  });

  it("elapsed time as a clock, days first when there are any", () => {
    expect(formatElapsed(0)).toBe("0:00:00");
    expect(formatElapsed(7_449_000)).toBe("2:04:09");
    expect(formatElapsed(3 * 86_400_000 + 61_000)).toBe("3d 00:01:01");
    expect(formatElapsed(-5000)).toBe("0:00:00");
  });

  it("'updated … ago' in seconds, then minutes, then hours", () => {
    expect(formatAgo(0)).toBe("0 s ago");
    expect(formatAgo(59_999)).toBe("59 s ago");
    expect(formatAgo(61_000)).toBe("1 min ago");
    expect(formatAgo(2 * 3_600_000)).toBe("2 h ago");
    expect(formatAgo(-10)).toBe("0 s ago");
  });

  it("a stall in whole minutes, then hours and minutes", () => {
    expect(formatMinutes(59_999)).toBe("0 min");
    expect(formatMinutes(42 * 60_000 + 59_000)).toBe("42 min");
    expect(formatMinutes(125 * 60_000)).toBe("2 h 5 min");
    expect(formatMinutes(-60_000)).toBe("0 min");
  });

  it("sizes, shares and scores", () => {
    expect(formatBytes(825)).toBe("825 B");
    expect(formatBytes(484_936)).toBe("473.6 KB");
    expect(formatBytes(5 * 1024 ** 3)).toBe("5.00 GB");
    expect(formatBytes(0)).toBe("0 B");
    expect(formatBytes(1023)).toBe("1023 B");
    expect(formatBytes(1024)).toBe("1.00 KB");
    expect(formatBytes(102_760)).toBe("100.4 KB");
    expect(formatBytes(3 * 1024 ** 2 + 512 * 1024)).toBe("3.50 MB");
    expect(formatShare(0.2353)).toBe("23.5%");
    expect(formatScore(0.9757)).toBe("0.976");
    expect(formatScore(null)).toBe("—");
  });

  it("dates in UTC when asked (the server render), labelled as such", () => {
    expect(formatDateTime("2026-11-26T14:05:00Z", { utc: true })).toBe("Nov 26, 14:05 UTC");
    expect(formatDateTime("not a date")).toBe("not a date");
  });
});
