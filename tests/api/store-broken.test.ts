import fs from "node:fs";
import path from "node:path";
import { beforeEach, describe, expect, it } from "vitest";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { POST as updateStatus } from "@/app/api/update-status/route";
import { storeRows } from "../support/store";
import { call, makeDataDir, postJson } from "../helpers";

// SQLite's own faults; PostgreSQL's (a server that goes away) are tested with two servers in e2e/.

describe("a store that cannot be used", () => {
  it("answers 503 JSON on every route and unhealthy on /api/health, never 500", async () => {
    const dir = makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] });
    expect((await call(getModels)).status).toBe(200);
    const broken = path.join(dir, "broken.db");
    fs.writeFileSync(broken, "this is no SQLite database, only some text long enough to be read as a header".repeat(20));
    process.env.AFS_DB = broken;
    for (const handler of [getModels, getTraining]) {
      const res = await call(handler);
      expect(res.status).toBe(503);
      expect(await res.json()).toEqual({ error: "store_unavailable", details: "The store cannot be used (SQLITE_NOTADB)" });
    }
    const health = await call(getHealth);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "unhealthy", warnings: ["store: file is not a database"], store: { engine: "sqlite", ok: false } });
  });
});

describe("a SQLite store that refuses writes", () => {
  const write = (progress = 10) => call(updateStatus, { init: postJson({ model_key: "alpha", status: "running", progress }) });
  const read = () => call(getModels);

  beforeEach(() => makeDataDir({ models: [{ key: "alpha", name: "Alpha" }] }));

  it("a full store answers writes with 503, keeps reads working, and recovers", async () => {
    expect((await write()).status).toBe(200);
    const [{ page_count: pages }] = await storeRows<{ page_count: number }>("PRAGMA page_count");
    await storeRows(`PRAGMA max_page_count = ${pages}`); // SQLite's own SQLITE_FULL, as on a full disk
    let full: Response | null = null;
    for (let i = 0; i < 200 && !full; i++) {
      const res = await write(20);
      if (res.status !== 200) full = res;
    }
    expect(full!.status).toBe(503);
    expect(await full!.json()).toEqual({ error: "store_unavailable", details: expect.stringMatching(/^The store cannot be written \(SQLITE_FULL\)/) });
    expect((await read()).status).toBe(200);
    await storeRows("PRAGMA max_page_count = 1073741823");
    expect((await write()).status).toBe(200);
    expect(await storeRows("PRAGMA integrity_check")).toEqual([{ integrity_check: "ok" }]);
  });

  it("a read-only store answers writes with 503 and keeps reads working", async () => {
    await storeRows("PRAGMA query_only = ON"); // SQLite refuses every write, as on a read-only file
    try {
      const res = await write();
      expect(res.status).toBe(503);
      expect((await res.json()).details).toMatch(/^The store cannot be written \(SQLITE_READONLY/);
      expect((await read()).status).toBe(200);
    } finally {
      await storeRows("PRAGMA query_only = OFF");
    }
    expect((await write()).status).toBe(200);
  });
});

