import { afterEach, describe, expect, it } from "vitest";
import { startGpuSampleWriter } from "@/lib/gpu/sample-writer";
import type { GpuReading } from "@/lib/gpu/types";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { closeCurrentStore } from "@/lib/store/db";
import { makeDataDir, until } from "../helpers";
import { storeRows } from "../support/store";

afterEach(closeCurrentStore);

const reading = { index: 0, utilization: 50, memory_used_mb: 1, memory_total_mb: 2, temperature_c: 3, power_w: 4 } as GpuReading;

describe("the GPU sample writer", () => {
  it("keeps samples while the store refuses them, at most maxBuffered, the oldest dropped first, and writes them when it takes them", async () => {
    makeDataDir();
    await storeRows("PRAGMA query_only = ON"); // the store refuses every write, as while it is away
    const writer = startGpuSampleWriter({ flushIntervalMs: 20, maxBuffered: 10 });
    for (let at = 1; at <= 25; at++) writer.add({ host: LOCAL_HOST, at, reading });
    await new Promise((r) => setTimeout(r, 100)); // a few refused flushes
    expect(writer.stats()).toEqual({ buffered: 10, dropped: 15 });
    expect(await storeRows("SELECT count(*) AS n FROM gpu_samples")).toEqual([{ n: 0 }]);

    await storeRows("PRAGMA query_only = OFF");
    await until(async () => writer.stats().buffered === 0);
    await writer.stop();
    expect((await storeRows<{ at: number }>("SELECT at FROM gpu_samples ORDER BY at")).map((r) => r.at)).toEqual(Array.from({ length: 10 }, (_, i) => 16 + i));
  });

  it("stores any host's samples, each under its host", async () => {
    makeDataDir();
    const writer = startGpuSampleWriter({ flushIntervalMs: 20, maxBuffered: 10 });
    writer.add({ host: LOCAL_HOST, at: 5, reading });
    writer.add({ host: "gpu-box-1", at: 5, reading: { ...reading, utilization: 90 } });
    await writer.stop();
    expect(await storeRows("SELECT host, at, gpu_index, utilization FROM gpu_samples ORDER BY host")).toEqual([
      { host: "gpu-box-1", at: 5, gpu_index: 0, utilization: 90 },
      { host: LOCAL_HOST, at: 5, gpu_index: 0, utilization: 50 },
    ]);
  });
});
