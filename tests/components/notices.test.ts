import { describe, expect, it } from "vitest";
import { addDismissed, buildNotices, isConfigWarning, parseDismissed } from "@/components/dashboard/notices";
import type { ModelStatus } from "@/lib/schemas/api";

const NOW = Date.parse("2026-11-26T12:00:00Z");

function model(over: Partial<ModelStatus>): ModelStatus {
  return {
    key: "veran-v5", name: "Veran v5", status: "running", progress: 65, gpu_hours: 0.7, gpu_hours_source: "configured",
    cost_per_hour: 1.2, total_cost: 0.84, total_cost_source: "configured", training_samples: 420, file_size_mb: 0.097,
    file_size_bytes: 101_712, evaluation_score: null, deployment_status: "none", last_update: "2026-11-26T11:00:00Z",
    stalled_since: null, config_errors: [], host: "local", vast_instance: null, burn_rate_usd_per_hour: 1.2,
    projected_cost_to_finish: null, projected_total_cost: null,
    ...over,
  };
}

describe("notices", () => {
  const badConfig = "afs.config.json: models[1].gpu_hours: expected a number";

  it("lists the config's warnings, once each, and leaves the others to the footer", () => {
    const notices = buildNotices({ warnings: [badConfig, "runs/majora-v1/trainer_state.json: not JSON", badConfig], models: [], now: NOW });
    expect(notices).toEqual([{ id: `config:${badConfig}`, text: badConfig }]);
    expect(isConfigWarning("evaluations/x.json: afs.config.json: nope")).toBe(false);
  });

  it("says for how long each stalled model has written nothing", () => {
    const notices = buildNotices({
      warnings: [],
      models: [model({ stalled_since: "2026-11-26T11:17:30Z" }), model({ key: "orin-v3", name: "Orin v3" })],
      now: NOW,
    });
    expect(notices).toEqual([{ id: "stalled:veran-v5:2026-11-26T11:17:30Z", text: "Veran v5 stalled for 42 min" }]);
  });

  it("keys a stall by its start, so the ticking minutes keep one notice", () => {
    const models = [model({ stalled_since: "2026-11-26T11:17:30Z" })];
    const [before] = buildNotices({ warnings: [], models, now: NOW });
    const [later] = buildNotices({ warnings: [], models, now: NOW + 5 * 60_000 });
    expect(later.text).toBe("Veran v5 stalled for 47 min");
    expect(later.id).toBe(before.id);
  });
});

describe("dismissals", () => {
  const a = { id: "config:afs.config.json: a", text: "afs.config.json: a" };
  const b = { id: "stalled:veran-v5:2026-11-26T11:17:30Z", text: "Veran v5 stalled for 42 min" };

  it("are a JSON list of ids; anything else is none", () => {
    expect(parseDismissed('["x","y"]')).toEqual(new Set(["x", "y"]));
    expect(parseDismissed("")).toEqual(new Set());
    expect(parseDismissed("{not json")).toEqual(new Set());
    expect(parseDismissed('{"x":1}')).toEqual(new Set());
    expect(parseDismissed('["x",3]')).toEqual(new Set(["x"]));
  });

  it("add the dismissed id and forget those of notices that are gone", () => {
    const once = addDismissed("", a.id, [a, b]);
    expect(parseDismissed(once)).toEqual(new Set([a.id]));
    expect(parseDismissed(addDismissed(once, b.id, [a, b]))).toEqual(new Set([a.id, b.id]));
    expect(parseDismissed(addDismissed(JSON.stringify(["stalled:veran-v5:old", a.id]), b.id, [a, b]))).toEqual(new Set([a.id, b.id]));
    expect(parseDismissed(addDismissed(once, a.id, [a]))).toEqual(new Set([a.id]));
  });
});
