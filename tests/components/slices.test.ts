import { describe, expect, it } from "vitest";
import { groupSlices } from "@/components/costs/slices";

const slice = (i: number, cost: number) => ({ key: `m${i}`, name: `M${i}`, cost, share: cost / 100 });

describe("the cost doughnut's slices", () => {
  it("keeps up to `top` slices as they are", () => {
    const few = [slice(1, 10), slice(2, 30)];
    expect(groupSlices(few, 6)).toBe(few);
  });

  it("keeps the costliest and sums the rest into one, even for 100,000 models", () => {
    const many = Array.from({ length: 100_000 }, (_, i) => slice(i, i === 42 ? 1000 : 1));
    const grouped = groupSlices(many, 6);
    expect(grouped).toHaveLength(6);
    expect(grouped[0]).toEqual(slice(42, 1000));
    expect(grouped[5]).toMatchObject({ key: "other", name: "Other models (99995)", cost: 99_995 });
    expect(grouped[5].share).toBeCloseTo(999.95, 6);
  });
});
