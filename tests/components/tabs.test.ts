import { afterEach, describe, expect, it, vi } from "vitest";
import { nextTab, parseTab, tabHref, TABS } from "@/components/dashboard/tabs";
import { fetcher, FetchError } from "@/lib/swr/fetcher";
import { parseTimeRange } from "@/lib/schemas/time-range";
import { KEYS } from "@/lib/swr/keys";
import { parseTheme, themeCookie } from "@/lib/theme";

describe("tabs in the URL", () => {
  it("reads ?tab=, falling back to the overview", () => {
    expect(parseTab("metrics")).toBe("metrics");
    expect(parseTab("hosts")).toBe("hosts");
    expect(parseTab("nope")).toBe("overview");
    expect(parseTab(undefined)).toBe("overview");
    expect(parseTab(["costs"])).toBe("overview");
  });

  it("builds hrefs that keep the other query parameters", () => {
    expect(tabHref("tab=overview&range=6h", "metrics")).toBe("?tab=metrics&range=6h");
    expect(tabHref("", "costs")).toBe("?tab=costs");
  });

  it("moves with the arrow keys, wrapping, and jumps with Home and End", () => {
    expect(nextTab("overview", "ArrowRight")).toBe("models");
    expect(nextTab("metrics", "ArrowRight")).toBe("hosts");
    expect(nextTab("hosts", "ArrowRight")).toBe("registry");
    expect(nextTab("overview", "ArrowLeft")).toBe("registry");
    expect(nextTab("registry", "ArrowRight")).toBe("overview");
    expect(nextTab("costs", "Home")).toBe("overview");
    expect(nextTab("costs", "End")).toBe(TABS.at(-1)!.id);
    expect(nextTab("costs", "Enter")).toBeNull();
  });
});

describe("time ranges and keys", () => {
  it("accepts the picker's ranges only", () => {
    expect(parseTimeRange("15m")).toBe("15m");
    expect(parseTimeRange("30d")).toBe("1h");
    expect(parseTimeRange(undefined)).toBe("1h");
    // This machine's key is the one the server page fills; another host's names it.
    expect(KEYS.gpu("6h")).toBe("/api/metrics/gpu-utilization?range=6h");
    expect(KEYS.gpu("6h", "local")).toBe("/api/metrics/gpu-utilization?range=6h");
    expect(KEYS.gpu("15m", "box-a")).toBe("/api/metrics/gpu-utilization?range=15m&host=box-a");
  });
});

describe("theme cookie", () => {
  it("is dark unless it says light", () => {
    expect(parseTheme("light")).toBe("light");
    expect(parseTheme("dark")).toBe("dark");
    expect(parseTheme("purple")).toBe("dark");
    expect(parseTheme(undefined)).toBe("dark");
    expect(themeCookie("light")).toMatch(/^afs-theme=light; Path=\/; Max-Age=\d+; SameSite=Lax$/);
  });
});

describe("fetcher", () => {
  afterEach(() => vi.unstubAllGlobals());

  it("returns the JSON of a 2xx answer", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Response.json({ ok: 1 })));
    await expect(fetcher("/api/x")).resolves.toEqual({ ok: 1 });
  });

  it("throws the API's {error} text with the status on a non-2xx answer", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Response.json({ error: 'Unknown model "nope"' }, { status: 404 })));
    const error = await fetcher("/api/models/nope/status").catch((e: unknown) => e);
    expect(error).toBeInstanceOf(FetchError);
    expect(error).toMatchObject({ message: 'Unknown model "nope"', status: 404 });
  });

  it("falls back to the status line when the body is not the API's error shape", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => new Response("<html>", { status: 502, statusText: "Bad Gateway" })));
    await expect(fetcher("/api/x")).rejects.toMatchObject({ message: "502 Bad Gateway", status: 502 });
  });

  it("says so when the server cannot be reached", async () => {
    vi.stubGlobal("fetch", vi.fn(async () => Promise.reject(new TypeError("fetch failed"))));
    await expect(fetcher("/api/x")).rejects.toMatchObject({ message: "The server could not be reached", status: 0 });
  });
});
