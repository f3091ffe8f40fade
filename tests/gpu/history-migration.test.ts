import { afterEach, describe, expect, it } from "vitest";
import { closeCurrentStore } from "@/lib/store/db";
import { insertGpuSamples } from "@/lib/store/gpu-samples";
import { makeDataDir } from "../helpers";
import { createStoreAt, storeRows } from "../support/store";
import { asPoint, weekRows, type Minute } from "./capture";

// SQLite stores made before the periods existed; a PostgreSQL store starts with them.
afterEach(closeCurrentStore);

describe("the periods' migration on SQLite", () => {
  const periods = (table: string) => storeRows<Record<string, number>>(`SELECT * FROM ${table} ORDER BY period, gpu_index, high`);

  it("fills the periods of a store migrated from the 1-minute rollups alone, as samples arriving would", async () => {
    makeDataDir();
    await insertGpuSamples({ samples: weekRows() });
    const kept = { tenMinutes: await periods("gpu_samples_10m"), hours: await periods("gpu_samples_1h") };
    expect(kept.hours.length).toBeGreaterThan(0);
    // The same rollups in a store at the version before the periods' migration (and before hosts).
    const minutes = (await storeRows("SELECT * FROM gpu_samples_1m")).map(({ host, ...m }) => m);
    await closeCurrentStore();
    makeDataDir();
    await createStoreAt({ version: 4, rows: { gpu_samples_1m: minutes } });
    const migrated = { tenMinutes: await periods("gpu_samples_10m"), hours: await periods("gpu_samples_1h") };
    // Where minutes tie, either may be picked: the picked value and the minute's own values must agree.
    const picked = (rows: Array<Record<string, number>>) => rows.map(({ period, gpu_index, high, utilization }) => ({ period, gpu_index, high, utilization }));
    expect(picked(migrated.tenMinutes)).toEqual(picked(kept.tenMinutes));
    expect(picked(migrated.hours)).toEqual(picked(kept.hours));
    const all = await storeRows<Minute>("SELECT * FROM gpu_samples_1m");
    for (const row of [...migrated.tenMinutes, ...migrated.hours]) {
      const m = all.find((n) => n.gpu_index === row.gpu_index && n.minute === row.at)!;
      const stat = row.high ? "max" : "mean";
      expect(asPoint(m, stat)).toEqual({ timestamp: new Date(row.at).toISOString(), gpu_index: row.gpu_index, utilization: row.utilization, temperature_c: row.temperature_c, power_w: row.power_w });
    }
  });
});
