import { describe, expect, it } from "vitest";
import { GET as getLoss } from "@/app/api/metrics/training-loss/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getRuns } from "@/app/api/models/[key]/runs/route";
import { call, makeDataDir, writeFile } from "../helpers";
import { scalarEvent } from "../runs/helpers";

// Record times before 2000 or more than a day ahead (a missing time read as 1970, a broken clock,
// 1e300) are not used for hours, cost, staleness or order: the points stay, without a time.
describe("implausible record times", () => {
  it("never reach hours, cost or the run's last record, and are counted in warnings", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha", cost_per_hour: 2 }] });
    const now = Math.floor(Date.now() / 1000);
    const times = [1, now - 120, 1e300, now - 60, Date.UTC(2100, 0, 1) / 1000];
    const events = times.map((wall_time, i) => scalarEvent({ tag: "loss", step: (i + 1) * 10, value: 5 - i, wall_time }));
    writeFile(dir, "runs/alpha/events.out.tfevents.1.host", Buffer.concat(events));
    writeFile(dir, "runs/alpha/log.jsonl", '{"step": 60, "lr": 0.1, "time": 1}\n{"step": 70, "lr": 0.1, "time": "2999-01-01T00:00:00Z"}\n');

    const loss = await call(getLoss, { url: "/api/metrics/training-loss?model=alpha" });
    expect(loss.status).toBe(200);
    const rows = (await loss.json()).metrics;
    expect(rows.map((r: { step: number; timestamp: string | null }) => [r.step, r.timestamp !== null])).toEqual([
      [10, false], [20, true], [30, false], [40, true], [50, false],
    ]);
    const runs = await (await call(getRuns, { params: { key: "alpha" } })).json();
    expect(runs.last_record_at).toBe(new Date((now - 60) * 1000).toISOString());
    const model = await (await call(getModel, { params: { key: "alpha" } })).json();
    // One minute of timed records between the plausible ones: not 1970 to 2100.
    expect(model.gpu_hours).toBeCloseTo(1 / 60, 4);
    expect(model.total_cost).toBeCloseTo(2 / 60, 4);
    expect((await (await call(getModels)).json()).warnings).toEqual([
      "alpha: runs/alpha/events.out.tfevents.1.host: 3 record time(s) before 2000 or more than a day ahead; not used",
      "alpha: runs/alpha/log.jsonl: 2 record time(s) before 2000 or more than a day ahead; not used",
    ]);
  });
});
