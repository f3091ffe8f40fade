import { describe, expect, it } from "vitest";
import { countHosts, inProgressDetail, summarizeEstimate } from "@/components/overview/summary";
import type { Host, ModelStatus, TrainingStatusResponse } from "@/lib/schemas/api";

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

describe("the host and GPU counts", () => {
  const gpu = (index: number, utilization: number | null) => ({ index, utilization }) as Host["gpus"][number];
  const host = (name: string, state: Host["state"], gpus: Host["gpus"] = [], models: string[] = []) => ({ name, state, gpus, models }) as Host;

  it("counts hosts that answer as online, and GPUs busy from 10% utilization", () => {
    const counts = countHosts([
      host("local", "online", [gpu(0, 9.9), gpu(1, 10)]),
      host("box-a", "online", [gpu(0, 100), gpu(1, 0)]),
      host("box-b", "no_gpu"),
      host("box-c", "connecting"),
    ]);
    expect(counts).toEqual({ online: 3, total: 4, busy: 2, idle: 2 });
  });

  it("leaves out GPUs of hosts that do not answer, and GPUs without a reading", () => {
    const counts = countHosts([host("box-a", "unreachable", [gpu(0, 90)]), host("box-b", "online", [gpu(0, null), gpu(1, 50)])]);
    expect(counts).toEqual({ online: 1, total: 2, busy: 1, idle: 0 });
  });

  it("counts this machine only when it has GPUs or models", () => {
    const remote = host("box-a", "auth_failed");
    expect(countHosts([host("local", "no_gpu"), remote])).toEqual({ online: 0, total: 1, busy: 0, idle: 0 });
    expect(countHosts([host("local", "no_gpu", [], ["majora-v1"]), remote])).toEqual({ online: 1, total: 2, busy: 0, idle: 0 });
    expect(countHosts([host("local", "online", [gpu(0, 0)])])).toEqual({ online: 1, total: 1, busy: 0, idle: 1 });
    expect(countHosts([])).toEqual({ online: 0, total: 0, busy: 0, idle: 0 });
  });
});
