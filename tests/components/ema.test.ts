import { describe, expect, it } from "vitest";
import { smoothEma } from "@/components/metrics/ema";

describe("smoothEma (TensorBoard's debiased EMA)", () => {
  it("debiases the first points instead of pulling them towards 0", () => {
    const out = smoothEma([1, 2, 3], 0.5) as number[];
    expect(out[0]).toBeCloseTo(1, 10);
    expect(out[1]).toBeCloseTo(1.25 / 0.75, 10);
    expect(out[2]).toBeCloseTo(2.125 / 0.875, 10);
  });

  it("is the raw series at weight 0", () => {
    expect(smoothEma([3, 1, 4, 1, 5], 0)).toEqual([3, 1, 4, 1, 5]);
  });

  it("keeps a constant series as it is, at any weight", () => {
    expect(smoothEma([2, 2, 2], 0.9)).toEqual([2, 2, 2]);
  });

  it("passes gaps and non-finite values through without advancing the average", () => {
    const out = smoothEma([1, null, Number.NaN, 3], 0.5);
    expect(out[0]).toBeCloseTo(1, 10);
    expect(out[1]).toBeNull();
    expect(out[2]).toBeNaN();
    expect(out[3]).toBeCloseTo((0.25 + 1.5) / 0.75, 10);
  });

  it("smooths a noisy curve towards its trend and keeps its length", () => {
    const noisy = Array.from({ length: 200 }, (_, i) => 5 - i / 50 + (i % 2 ? 0.5 : -0.5));
    const out = smoothEma(noisy, 0.9) as number[];
    expect(out).toHaveLength(200);
    const wiggle = (xs: number[]) => xs.slice(100).reduce((s, x, i, a) => (i ? s + Math.abs(x - a[i - 1]) : s), 0);
    expect(wiggle(out)).toBeLessThan(wiggle(noisy) / 5);
    expect(out[0]).toBeCloseTo(noisy[0], 10);
  });

  it("clamps the weight into [0, 1]", () => {
    expect(smoothEma([1, 2], -1)).toEqual([1, 2]);
    expect(smoothEma([1, 3], 1)).toEqual([0, 0]);
  });
});
