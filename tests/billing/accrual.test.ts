import { describe, expect, it } from "vitest";
import { accrueInstances, modelCosts, spentAt, type PolledInstance, type Poll } from "@/lib/billing/accrual";

// Polls every 30 minutes, so a gap longer than 90 minutes is unknown.
const MIN = 60_000;
const INTERVAL = 30 * MIN;
const T0 = Date.UTC(2026, 0, 1);
const at = (minutes: number) => T0 + minutes * MIN;

const instance = (over: Partial<PolledInstance> & { id: number }): PolledInstance => ({
  label: null,
  state: "running",
  dph_total: 2.1,
  storage_total_cost: 0.15,
  num_gpus: 1,
  ...over,
});
const poll = (minutes: number, instances: PolledInstance[]): Poll => ({ at: at(minutes), ok: true, instances });
const failed = (minutes: number): Poll => ({ at: at(minutes), ok: false, instances: [] });
// One successful poll every 30 minutes over [from, to], each listing what `list` answers for it.
const every = (from: number, to: number, list: (minutes: number) => PolledInstance[]) =>
  Array.from({ length: (to - from) / 30 + 1 }, (_, n) => poll(from + n * 30, list(from + n * 30)));

const accrue = (polls: Poll[], nowMinutes: number) => accrueInstances({ polls, intervalMs: INTERVAL, now: at(nowMinutes) });

describe("accrueInstances", () => {
  it("bills running at dph_total, stopped at storage, and nothing after it is destroyed", () => {
    const a = (state: string) => [instance({ id: 1, label: "alpha", state, num_gpus: 2 })];
    const polls = [
      ...every(0, 120, () => a("running")),
      ...every(150, 180, () => a("stopped")),
      poll(210, a("running")),
      poll(240, []),
      poll(270, []),
    ];
    const [i] = accrue(polls, 300).instances;
    // running 0-150 (2.5 h) + 210-240 (0.5 h) = 3 h at $2.10 = $6.30
    // + stopped 150-210 (1 h) at $0.15 = $0.15 → $6.45
    expect(i.accrued_usd).toBe(6.45);
    expect(i.running_hours).toBe(3);
    // 3 running hours × 2 GPUs
    expect(i.gpu_hours).toBe(6);
    expect(i.destroyed_at).toBe(at(240));
    expect(i.state).toBe("running");
    expect(i.observed_since).toBe(at(0));
    expect(i.unknown).toEqual([]);
    expect(i.segments.map((s) => [s.from, s.to, s.state, s.rate_usd_per_hour])).toEqual([
      [at(0), at(150), "running", 2.1],
      [at(150), at(210), "stopped", 0.15],
      [at(210), at(240), "running", 2.1],
    ]);
  });

  it("bills loading, created and exited at the storage rate", () => {
    const polls = [
      poll(0, [instance({ id: 1, state: "created" })]),
      poll(30, [instance({ id: 1, state: "loading" })]),
      poll(60, [instance({ id: 1, state: "exited" })]),
    ];
    const [i] = accrue(polls, 90).instances;
    // 1.5 h not running at $0.15 = $0.225 → 0.23 (at $2.10 it would be $3.15)
    expect(i.accrued_usd).toBe(0.23);
    expect(i.running_hours).toBe(0);
  });

  it("uses a changed dph_total from the poll that reported it", () => {
    const polls = every(0, 120, (m) => [instance({ id: 7, dph_total: m < 90 ? 1 : 1.6 })]);
    const [i] = accrue(polls, 135).instances;
    // 0-90 (1.5 h) at $1.00 = $1.50 + 90-135 (0.75 h, the last 15 min extrapolated) at $1.60 = $1.20 → $2.70
    expect(i.accrued_usd).toBe(2.7);
    expect(i.running_hours).toBe(2.25);
    expect(i.dph_total).toBe(1.6);
    expect(i.segments.map((s) => s.rate_usd_per_hour)).toEqual([1, 1.6]);
  });

  it("charges nothing for a gap longer than 3 intervals and reports it as unknown", () => {
    const a = [instance({ id: 5, label: "gappy", dph_total: 2 })];
    const polls = [poll(0, a), poll(30, a), poll(120, a), poll(270, a), poll(300, a)];
    const { instances, warnings } = accrue(polls, 300);
    // 0-120 (the 30→120 gap is exactly 3 intervals, still billed) = 2 h
    // + 270-300 = 0.5 h, at $2.00 = $5.00; 120-270 (2.5 h) is unknown
    expect(instances[0].accrued_usd).toBe(5);
    expect(instances[0].unknown).toEqual([{ from: at(120), to: at(270) }]);
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toMatch(/^instance 5 \(gappy\): .*2026-01-01T02:00:00\.000Z.*2026-01-01T04:30:00\.000Z; not charged$/);
  });

  it("counts failed polls as gaps and ignores what they list", () => {
    const a = [instance({ id: 3, dph_total: 2 })];
    const polls = [
      poll(0, a),
      failed(30),
      poll(60, a),
      // a failed poll says nothing, even if it carries a list
      { at: at(90), ok: false, instances: [instance({ id: 3, dph_total: 50 })] },
      failed(120),
      failed(150),
      failed(180),
      poll(210, a),
    ];
    const [i] = accrue(polls, 240).instances;
    // 0-60 (one failure, 60 min ≤ 90) = 1 h + 210-240 = 0.5 h, at $2.00 = $3.00; 60-210 is unknown
    expect(i.accrued_usd).toBe(3);
    expect(i.unknown).toEqual([{ from: at(60), to: at(210) }]);
  });

  it("charges an instance first seen days later only from observed_since", () => {
    const twoDays = 2 * 24 * 60;
    const other = instance({ id: 1, dph_total: 0.5 });
    const late = instance({ id: 2, dph_total: 1.25, num_gpus: 8 });
    const polls = every(0, twoDays + 120, (m) => (m < twoDays ? [other] : [other, late]));
    const { instances } = accrue(polls, twoDays + 120);
    const i = instances.find((x) => x.id === 2)!;
    expect(i.observed_since).toBe(at(twoDays));
    // 2 h at $1.25 = $2.50, 2 h × 8 GPUs = 16 GPU hours
    expect(i.accrued_usd).toBe(2.5);
    expect(i.gpu_hours).toBe(16);
    // the other one ran all along: 50 h at $0.50 = $25.00
    expect(instances.find((x) => x.id === 1)!.accrued_usd).toBe(25);
  });

  it("extrapolates to now no further than the gap limit", () => {
    const polls = [poll(0, [instance({ id: 9, dph_total: 2 })]), poll(30, [instance({ id: 9, dph_total: 2 })])];
    const { instances, warnings } = accrue(polls, 330);
    // 0-120: the last poll (30) plus 3 intervals = 2 h at $2.00 = $4.00; 120-330 unknown
    expect(instances[0].accrued_usd).toBe(4);
    expect(instances[0].unknown).toEqual([{ from: at(120), to: at(330) }]);
    expect(warnings).toHaveLength(1);
    // within the limit the whole tail is billed: 0-100 = 1 h 40 min at $2.00 = $3.333… → $3.33
    expect(accrue(polls, 100).instances[0].accrued_usd).toBe(3.33);
  });
});

describe("modelCosts", () => {
  it("gives a lone model its instance's cost and splits an overlap evenly", () => {
    const polls = every(0, 240, () => [
      instance({ id: 10, label: "alpha", dph_total: 3, num_gpus: 4 }),
      instance({ id: 20, label: "shared-box", dph_total: 0.937, num_gpus: 1 }),
    ]);
    const now = at(240);
    const { instances } = accrueInstances({ polls, intervalMs: INTERVAL, now });
    const costs = modelCosts({
      instances,
      now,
      models: [
        // linked by label
        { key: "alpha", windows: [{ from: at(60), to: null }] },
        // linked by vast_instance
        { key: "beta", instance_id: 20, windows: [{ from: at(0), to: at(180) }] },
        { key: "gamma", instance_id: 20, windows: [{ from: at(90), to: null }] },
        { key: "delta", windows: [{ from: at(0), to: null }] },
      ],
    });
    expect(costs.map(({ pieces: _, ...c }) => c)).toEqual([
      // 60-240 = 3 h at $3.00 = $9.00; 3 h × 4 GPUs = 12
      { key: "alpha", instance_id: 10, total_cost: 9, gpu_hours: 12 },
      // alone 0-90: 1.5 h × $0.937 = $1.4055 + shared 90-180: 1.5 h × $0.937 / 2 = $0.70275 → $2.10825 → 2.11
      { key: "beta", instance_id: 20, total_cost: 2.11, gpu_hours: 3 },
      // shared 90-180: $0.70275 + alone 180-240: 1 h × $0.937 = $1.63975 → 1.64
      { key: "gamma", instance_id: 20, total_cost: 1.64, gpu_hours: 2.5 },
      { key: "delta", instance_id: null, total_cost: 0, gpu_hours: 0 },
    ]);
    // the two shares add up to the instance: 4 h × $0.937 = $3.748 → 3.75
    expect(instances.find((i) => i.id === 20)!.accrued_usd).toBe(3.75);
    // placed in time: beta at 120 min paid 1.5 h alone and 0.5 h shared = $1.4055 + $0.23425
    const beta = costs.find((c) => c.key === "beta")!;
    expect(spentAt({ pieces: beta.pieces, at: at(120) }).usd).toBeCloseTo(1.63975, 9);
    expect(spentAt({ pieces: beta.pieces, at: at(120) }).gpu_hours).toBeCloseTo(2, 9);
  });

  it("adds up every instance that carried the model's label, newest named", () => {
    const polls = [
      ...every(0, 60, () => [instance({ id: 7, label: "m", dph_total: 1 })]),
      ...every(90, 150, () => [instance({ id: 9, label: "m", dph_total: 4 })]),
    ];
    const now = at(150);
    const { instances } = accrueInstances({ polls, intervalMs: INTERVAL, now });
    const [cost] = modelCosts({ instances, now, models: [{ key: "m", windows: [{ from: at(0), to: null }] }] });
    // instance 7: 0-90 (destroyed at the poll at 90) = 1.5 h × $1; instance 9: 90-150 = 1 h × $4
    expect(cost).toMatchObject({ instance_id: 9, total_cost: 5.5, gpu_hours: 2.5 });
  });

  it("charges a model nothing for an unknown stretch or after its instance is gone", () => {
    const a = [instance({ id: 4, label: "m", dph_total: 2 })];
    const polls = [poll(0, a), poll(30, a), poll(200, a), poll(230, [])];
    const now = at(300);
    const { instances } = accrueInstances({ polls, intervalMs: INTERVAL, now });
    const [cost] = modelCosts({ instances, now, models: [{ key: "m", windows: [{ from: at(0), to: null }] }] });
    // 0-30 + 200-230 = 1 h at $2.00 = $2.00; 30-200 unknown, nothing after 230
    expect(cost.total_cost).toBe(2);
    expect(cost.gpu_hours).toBe(1);
  });
});
