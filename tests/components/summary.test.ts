import { describe, expect, it } from "vitest";
import { inProgressDetail, summarizeEstimate } from "@/components/overview/summary";
import type { ModelStatus, TrainingStatusResponse } from "@/lib/schemas/api";

const NOW = Date.parse("2026-11-26T12:00:00Z");

const model = (key: string, status: ModelStatus["status"]) => ({ key, name: key.toUpperCase(), status }) as ModelStatus;

function training(estimate: TrainingStatusResponse["estimate"]): TrainingStatusResponse {
  return {
    session_start: "2026-11-26T09:00:00Z", total_cost: 4.08, models_completed: 2, models_in_progress: 2, models_pending: 0, models_failed: 1,
    budget_usd: 10, estimated_completion: estimate.at, estimate, warnings: [],
  };
}

describe("the In progress card", () => {
  it("always says what it counts", () => {
    expect(inProgressDetail([model("a", "running"), model("b", "paused"), model("c", "completed")])).toBe("1 running, 1 paused");
    expect(inProgressDetail([model("a", "running"), model("b", "running")])).toBe("2 running");
    expect(inProgressDetail([])).toBe("0 running");
  });
});

describe("the estimated completion card", () => {
  const models = [model("a", "running"), model("b", "running")];
  const ahead = "2026-11-26T14:00:00Z";

  it("shows a finish ahead that covers every running model", () => {
    const s = summarizeEstimate({ training: training({ at: ahead, models: [{ key: "a", at: ahead }] }), models, now: NOW });
    expect(s).toEqual({ at: ahead, overdue: false, detail: "latest finish among running models", missing: [] });
  });

  it("says how many running models it covers, and why the others are not", () => {
    const s = summarizeEstimate({
      training: training({ at: ahead, models: [{ key: "a", at: ahead }, { key: "b", at: null, reason: "no progress updates yet" }] }),
      models,
      now: NOW,
    });
    expect(s.at).toBe(ahead);
    expect(s.detail).toBe("1 of 2 running models estimated");
    expect(s.missing).toEqual(["B: no progress updates yet"]);
  });

  it("names a model it does not know by its key, and a reason it was not given as none", () => {
    const s = summarizeEstimate({ training: training({ at: null, models: [{ key: "gone", at: null }] }), models, now: NOW });
    expect(s).toEqual({ at: null, overdue: false, detail: "0 of 1 running model estimated", missing: ["gone: no estimate"] });
  });

  it("never shows a finish that has passed", () => {
    const past = "2026-11-26T11:59:00Z";
    const s = summarizeEstimate({ training: training({ at: past, models: [{ key: "a", at: past }] }), models, now: NOW });
    expect(s).toMatchObject({ at: null, overdue: true, detail: "running past the estimated finish" });
  });

  it("with nothing running there is nothing to estimate", () => {
    expect(summarizeEstimate({ training: training({ at: null, models: [] }), models: [], now: NOW }).detail).toBe("no model is running");
  });
});
