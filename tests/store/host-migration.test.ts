import { afterEach, describe, expect, it } from "vitest";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { closeCurrentStore } from "@/lib/store/db";
import { insertGpuSamples, queryGpuHistory } from "@/lib/store/gpu-samples";
import { captureRows, HOUR, NOW } from "../gpu/capture";
import { makeDataDir } from "../helpers";
import { createStoreAt, storeRows } from "../support/store";

// Runs on both engines (vitest projects `sqlite` and `postgres`), whose migration 6 differs.
afterEach(closeCurrentStore);

const KEYS = { gpu_samples: "gpu_index, at", gpu_samples_1m: "gpu_index, minute", gpu_samples_10m: "period, gpu_index, high", gpu_samples_1h: "period, gpu_index, high" };
type Row = Record<string, unknown>;

async function history(): Promise<Record<string, Row[]>> {
  const tables: Record<string, Row[]> = {};
  for (const [table, key] of Object.entries(KEYS)) tables[table] = await storeRows(`SELECT * FROM ${table} ORDER BY host, ${key}`);
  return tables;
}

describe("migration 6: GPU history per host", () => {
  it("keeps every row of a version 5 store as host local, and then keeps another host's rows with the same keys apart", async () => {
    makeDataDir();
    const samples = [...captureRows({ gpu: 0, endAt: NOW - 2 * HOUR }), ...captureRows({ gpu: 1, endAt: NOW - 1000 })];
    await insertGpuSamples({ samples });
    const stored = await history();
    // The same history in a store at version 5, which had no host column.
    await closeCurrentStore();
    makeDataDir();
    const withoutHost = Object.fromEntries(Object.entries(stored).map(([table, rows]) => [table, rows.map(({ host, ...row }) => row)]));
    await createStoreAt({ version: 5, rows: withoutHost });

    const migrated = await history();
    expect(migrated).toEqual(stored);
    expect(migrated.gpu_samples).toHaveLength(430);
    for (const [table, rows] of Object.entries(migrated)) {
      expect(rows.length, table).toBeGreaterThan(0);
      expect(rows.every((r) => r.host === LOCAL_HOST), table).toBe(true);
    }

    // The old key (gpu_index, at) is gone from every table: the same samples of another host are all kept.
    await insertGpuSamples({ samples: samples.map((s) => ({ ...s, host: "gpu-box-1" })) });
    const both = await history();
    for (const [table, rows] of Object.entries(both)) {
      expect(rows.filter((r) => r.host === "gpu-box-1").map((r) => ({ ...r, host: LOCAL_HOST })), table).toEqual(stored[table]);
    }
    const answer = (host: string) => queryGpuHistory({ host, rangeMs: 3 * HOUR, now: NOW });
    expect(await answer("gpu-box-1")).toEqual(await answer(LOCAL_HOST));
  });
});
