import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";
import { GET as getHealth } from "@/app/api/health/route";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getTraining } from "@/app/api/training/status/route";
import { call, makeDataDir } from "../helpers";

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
      expect(await res.json()).toEqual({ error: "The store cannot be used (SQLITE_NOTADB)" });
    }
    const health = await call(getHealth);
    expect(health.status).toBe(503);
    expect(await health.json()).toMatchObject({ status: "unhealthy", warnings: ["store: file is not a database"] });
  });
});
