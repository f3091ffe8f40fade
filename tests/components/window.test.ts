import { describe, expect, it } from "vitest";
import { filterModels, visibleRows } from "@/components/overview/window";
import type { ModelStatus } from "@/lib/schemas/api";

const model = (key: string, name: string, status: ModelStatus["status"]) => ({ key, name, status }) as ModelStatus;
const MODELS = [model("majora-v1", "Majora v1", "completed"), model("veran-v5", "Veran v5", "running"), model("orin-v3", "Orin v3", "paused")];

describe("the model filter", () => {
  it("matches name (any case), key or status; blank keeps every model", () => {
    expect(filterModels(MODELS, "VERAN").map((m) => m.key)).toEqual(["veran-v5"]);
    expect(filterModels(MODELS, "orin-v").map((m) => m.key)).toEqual(["orin-v3"]);
    expect(filterModels(MODELS, "paused").map((m) => m.key)).toEqual(["orin-v3"]);
    expect(filterModels(MODELS, " v1 ").map((m) => m.key)).toEqual(["majora-v1"]);
    expect(filterModels(MODELS, "nothing")).toEqual([]);
    expect(filterModels(MODELS, "  ")).toBe(MODELS);
  });
});

describe("the window of rows", () => {
  const at = (count: number, topRow: number) => visibleRows({ count, topRow, viewportRows: 10, overscan: 5 });

  it("renders the rows in view and the overscan either side, bounded whatever the count", () => {
    expect(at(1000, 0)).toEqual({ first: 0, last: 15 });
    expect(at(1000, 500)).toEqual({ first: 495, last: 515 });
    expect(at(100_000, 50_000)).toEqual({ first: 49_995, last: 50_015 });
  });

  it("clamps at the end and for short lists", () => {
    expect(at(1000, 995)).toEqual({ first: 985, last: 1000 });
    expect(at(1000, 5000)).toEqual({ first: 985, last: 1000 });
    expect(at(3, 0)).toEqual({ first: 0, last: 3 });
    expect(at(3, 7)).toEqual({ first: 0, last: 3 });
    expect(at(0, 0)).toEqual({ first: 0, last: 0 });
  });
});
