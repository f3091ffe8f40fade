import { execFileSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getModel } from "@/app/api/models/[key]/status/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { POST } from "@/app/api/update-status/route";
import { subscribeEvents, type LiveEvent } from "@/lib/events";
import { getScanProgress, startLiveState, stopLiveState } from "@/lib/state/live-state";
import { holdJob, stopCoordination, UPKEEP_JOB } from "@/lib/store/coordination";
import { storeRows } from "../support/store";
import { call, jsonl, makeDataDir, postJson, until } from "../helpers";

// The state as a server runs it: kept current by the watcher, the sweep and writes, never by reads.
const FIXTURE = path.join(__dirname, "..", "fixtures", "majora-v1");
const json = async (res: Response | Promise<Response>) => (await res).json();
const samples = async (key: string) => (await json(call(getModel, { params: { key } }))).training_samples;

afterEach(async () => {
  await stopLiveState();
  await stopCoordination();
  delete process.env.AFS_WATCH;
  delete process.env.AFS_RESCAN_SECONDS;
});

describe("the live state", () => {
  it("shows a posted status to the next read and to the live stream", async () => {
    makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] });
    startLiveState();
    await json(call(getModels));
    const events: LiveEvent[] = [];
    const unsubscribe = subscribeEvents((e) => events.push(e));
    const res = await call(POST, { init: postJson({ model_key: "alpha", status: "running", progress: 42 }) });
    expect(res.status).toBe(200);
    expect(await json(call(getModel, { params: { key: "alpha" } }))).toMatchObject({ status: "running", progress: 42 });
    expect((await json(call(getModels))).models[0]).toMatchObject({ status: "running", progress: 42 });
    unsubscribe();
    expect(events).toEqual([{ type: "status", data: expect.objectContaining({ key: "alpha", status: "running", progress: 42 }) }]);
  });

  it("sees an appended line, a removed file and a new run folder within 2 s through the watcher", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha" }, { key: "beta", name: "Beta" }], files: { "models/alpha_merged.jsonl": jsonl([{ a: 1 }]), "models/beta_merged.jsonl": jsonl([{ b: 1 }]) } });
    startLiveState();
    expect(await samples("alpha")).toBe(1);
    fs.appendFileSync(path.join(dir, "models/alpha_merged.jsonl"), jsonl([{ a: 2 }]));
    await until(async () => (await samples("alpha")) === 2, 2000);
    fs.rmSync(path.join(dir, "models/beta_merged.jsonl"));
    await until(async () => (await samples("beta")) === 0, 2000);
    fs.cpSync(FIXTURE, path.join(dir, "runs", "beta"), { recursive: true });
    await until(async () => (await json(call(getModel, { params: { key: "beta" } }))).status === "completed", 2000);
  });

  it("sees changes within AFS_RESCAN_SECONDS with the watcher off", async () => {
    process.env.AFS_WATCH = "off";
    process.env.AFS_RESCAN_SECONDS = "1";
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha" }], files: { "models/alpha_merged.jsonl": jsonl([{ a: 1 }]) } });
    startLiveState();
    expect(await samples("alpha")).toBe(1);
    fs.appendFileSync(path.join(dir, "models/alpha_merged.jsonl"), jsonl([{ a: 2 }, { a: 3 }]));
    // No read refreshes it: the first reads still see the old count, the sweep brings the new one.
    expect(await samples("alpha")).toBe(1);
    await until(async () => (await samples("alpha")) === 3, 2500);
  });

  it("records a status the run files call for once, however many reads follow", async () => {
    const dir = makeDataDir({ models: [{ key: "majora-v1", name: "Majora v1" }] });
    fs.cpSync(FIXTURE, path.join(dir, "runs", "majora-v1"), { recursive: true });
    // As a server does: on PostgreSQL only the process holding the upkeep job stores them.
    holdJob({ name: UPKEEP_JOB, start: () => {}, stop: () => {} });
    startLiveState();
    for (let i = 0; i < 100; i++) expect((await json(call(getModels))).models[0].status).toBe("completed");
    await until(async () => (await storeRows("SELECT status, source FROM status_updates")).length > 0);
    expect(await storeRows("SELECT status, source FROM status_updates")).toEqual([{ status: "completed", source: "run" }]);
  });

  it("answers an unchanged body with 304 to its ETag, and a changed one with a new ETag", async () => {
    makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] });
    startLiveState();
    for (const handler of [getModels, getTraining]) {
      const first = await call(handler);
      const etag = first.headers.get("etag")!;
      expect(etag).toMatch(/^"[\w-]+"$/);
      const again = await call(handler, { init: { headers: { "if-none-match": etag } } });
      expect(again.status).toBe(304);
      expect(await again.text()).toBe("");
    }
    const etag = (await call(getModels)).headers.get("etag")!;
    await call(POST, { init: postJson({ model_key: "alpha", status: "paused", progress: 3 }) });
    const changed = await call(getModels, { init: { headers: { "if-none-match": etag } } });
    expect(changed.status).toBe(200);
    expect(changed.headers.get("etag")).not.toBe(etag);
    expect((await changed.json()).models[0]).toMatchObject({ status: "paused", progress: 3 });
  });

  it("answers /api/health at once while the first scan reads a 1 GB training file", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] });
    fs.mkdirSync(path.join(dir, "models"));
    execFileSync("truncate", ["-s", "1G", path.join(dir, "models", "alpha_merged.jsonl")]);
    startLiveState();
    const started = Date.now();
    const res = await call(getHealth);
    expect(Date.now() - started).toBeLessThan(500);
    // Healthy, or degraded by the one warning that says the first scan goes on.
    const body = await res.json();
    expect(body).toMatchObject({ status: body.warning_count ? "degraded" : "healthy", scan: { state: "scanning" } });
    expect(body.warnings.filter((w: string) => !w.startsWith("data dir: still reading it"))).toEqual([]);
    await until(async () => getScanProgress().state === "ready", 20_000);
    expect(getScanProgress().bytes_read).toBe(2 ** 30);
  });

  it("refuses a FIFO as afs.config.json without waiting for a writer", async () => {
    const dir = makeDataDir({ config: null });
    execFileSync("mkfifo", [path.join(dir, "afs.config.json")]);
    startLiveState();
    expect((await json(call(getHealth))).status).not.toBe("unhealthy");
    await until(async () => getScanProgress().state === "ready", 2000);
    expect((await json(call(getHealth))).warnings).toEqual(["afs.config.json: not a regular file; not read"]);
  });

  it("refuses a FIFO in a training file's place without waiting for a writer", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] });
    fs.mkdirSync(path.join(dir, "models"));
    execFileSync("mkfifo", [path.join(dir, "models", "alpha_merged.jsonl")]);
    startLiveState();
    expect((await json(call(getModels))).warnings).toEqual(["models/alpha_merged.jsonl: not a regular file; not read"]);
  });

  it("reads no JSONL byte when it restarts over unchanged files", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha" }], files: { "models/alpha_merged.jsonl": jsonl(Array.from({ length: 500 }, (_, i) => ({ i }))) } });
    startLiveState();
    expect(await samples("alpha")).toBe(500);
    expect(getScanProgress().bytes_read).toBe(fs.statSync(path.join(dir, "models/alpha_merged.jsonl")).size);
    await stopLiveState();
    startLiveState();
    expect(await samples("alpha")).toBe(500);
    expect(getScanProgress()).toMatchObject({ state: "ready", bytes_read: 0 });
    // Appended lines are read on their own.
    fs.appendFileSync(path.join(dir, "models/alpha_merged.jsonl"), jsonl([{ i: 500 }]));
    await until(async () => (await samples("alpha")) === 501, 2000);
    expect(getScanProgress().bytes_read).toBe(Buffer.byteLength(jsonl([{ i: 500 }])));
  });

  it("shows a first scan as it goes, with the sample counts the store kept, while a huge file is read", async () => {
    const dir = makeDataDir({
      models: [
        { key: "huge", name: "Huge" },
        { key: "alpha", name: "Alpha" },
      ],
      files: { "models/alpha_merged.jsonl": jsonl([{ i: 0 }, { i: 1 }, { i: 2 }]) },
    });
    startLiveState();
    expect(await samples("alpha")).toBe(3);
    await stopLiveState();
    // Zero bytes without a newline, read at disk speed: seconds here, the first scan's first model.
    const huge = path.join(dir, "models/huge_merged.jsonl");
    fs.writeFileSync(huge, "");
    fs.truncateSync(huge, 1 << 30);
    startLiveState();
    const started = Date.now();
    const body = await json(call(getModels));
    expect(Date.now() - started).toBeLessThan(3000);
    expect(body.models.find((m: { key: string }) => m.key === "alpha").training_samples).toBe(3);
    if (getScanProgress().state === "scanning") {
      expect(body.warnings).toEqual([expect.stringMatching(/^data dir: still reading it \(\d+ of 4 files\)/)]);
    }
    await until(async () => getScanProgress().state === "ready", 60_000);
  }, 90_000);

  it("joins malformed lines to the warnings once the worker has checked them", async () => {
    makeDataDir({ models: [{ key: "alpha", name: "Alpha" }], files: { "models/alpha_merged.jsonl": '{"a":1}\n{broken\n' } });
    startLiveState();
    await until(async () => (await json(call(getModels))).warnings.length === 1, 3000);
    expect((await json(call(getModels))).warnings).toEqual(["models/alpha_merged.jsonl: 1 malformed line(s), first at line 2"]);
  });
});
