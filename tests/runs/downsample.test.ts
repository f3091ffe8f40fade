import { describe, expect, it } from "vitest";
import { downsamplePoints } from "@/lib/runs/downsample";

describe("downsamplePoints", () => {
  it("keeps the ends, the extremes and the order within the limit", () => {
    const points = Array.from({ length: 1000 }, (_, step) => ({ step, value: Math.sin(step / 50) }));
    points[500].value = 10;
    points[777].value = -10;
    const out = downsamplePoints({ points, max: 100 });
    expect(out.length).toBeLessThanOrEqual(100);
    expect(out.length).toBeGreaterThanOrEqual(90);
    expect(out[0]).toBe(points[0]);
    expect(out.at(-1)).toBe(points[999]);
    expect(out).toContain(points[500]);
    expect(out).toContain(points[777]);
    expect(out.map((p) => p.step)).toEqual([...out.map((p) => p.step)].sort((a, b) => a - b));
  });

  it("returns short series unchanged and never fewer than the two ends", () => {
    const points = [1, 5, 3].map((value, step) => ({ step, value }));
    expect(downsamplePoints({ points, max: 3 })).toEqual(points);
    expect(downsamplePoints({ points, max: 1 })).toEqual([points[0], points[2]]);
  });
});
