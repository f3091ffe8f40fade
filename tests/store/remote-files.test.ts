import { afterEach, describe, expect, it } from "vitest";
import { closeCurrentStore } from "@/lib/store/db";
import { forgetRemoteFiles, loadRemoteFiles, saveRemoteFiles } from "@/lib/store/remote-files";
import { makeDataDir } from "../helpers";

// Runs on both engines (vitest projects `sqlite` and `postgres`).
afterEach(closeCurrentStore);

describe("remote files' copy progress", () => {
  it("is kept per host and path: saved, moved on, forgotten", async () => {
    makeDataDir();
    const mtime_ms = Date.UTC(2026, 10, 26, 12, 0, 0);
    // Past 2^32, as a long run's event file gets.
    const big = { path: "/runs/a/events.out.tfevents", offset: 5_000_000_000, size: 5_000_001_000, mtime_ms };
    const small = { path: "/runs/a/metrics.jsonl", offset: 100, size: 200, mtime_ms: mtime_ms + 1 };
    await saveRemoteFiles({ host: "gpu-box-1", files: [big, small] });
    await saveRemoteFiles({ host: "gpu-box-2", files: [{ ...small, offset: 7 }] });
    expect(await loadRemoteFiles({ host: "gpu-box-1" })).toEqual(
      new Map([
        [big.path, { offset: 5_000_000_000, size: 5_000_001_000, mtime_ms }],
        [small.path, { offset: 100, size: 200, mtime_ms: mtime_ms + 1 }],
      ]),
    );

    // Read on: the row moves on, the other host's stays.
    await saveRemoteFiles({ host: "gpu-box-1", files: [{ ...small, offset: 200, size: 300 }] });
    expect((await loadRemoteFiles({ host: "gpu-box-1" })).get(small.path)).toEqual({ offset: 200, size: 300, mtime_ms: mtime_ms + 1 });
    expect(await loadRemoteFiles({ host: "gpu-box-2" })).toEqual(new Map([[small.path, { offset: 7, size: 200, mtime_ms: mtime_ms + 1 }]]));

    await forgetRemoteFiles({ host: "gpu-box-1", paths: [small.path, "/runs/never-seen"] });
    expect([...(await loadRemoteFiles({ host: "gpu-box-1" })).keys()]).toEqual([big.path]);
    expect((await loadRemoteFiles({ host: "gpu-box-2" })).size).toBe(1);
    expect(await loadRemoteFiles({ host: "gpu-box-3" })).toEqual(new Map());
  });

  it("saves a batch in one transaction: one bad row stores none of it", async () => {
    makeDataDir();
    const files = Array.from({ length: 600 }, (_, i) => ({ path: `/runs/${i}.jsonl`, offset: i, size: 1000, mtime_ms: 1 }));
    files[550] = { ...files[550], size: null as unknown as number };
    await expect(saveRemoteFiles({ host: "gpu-box-1", files })).rejects.toThrow();
    expect(await loadRemoteFiles({ host: "gpu-box-1" })).toEqual(new Map());
  });
});
