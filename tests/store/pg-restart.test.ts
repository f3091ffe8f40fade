// The stop/start handle outage tests use, on a private server so the shared one stays up.
import { afterAll, describe, expect, it } from "vitest";
import { createDatabase, pgQuery, startPostgres, type PostgresServer } from "../support/postgres";

describe.skipIf(!!process.env.AFS_TEST_DATABASE_URL)("an embedded PostgreSQL paused and resumed", () => {
  let server: PostgresServer | undefined;
  afterAll(() => server?.stop());

  it("refuses connections while paused and comes back on the same port with its data", async () => {
    server = await startPostgres();
    const url = await createDatabase(server.adminUrl);
    await pgQuery(url, "CREATE TABLE t (n int); INSERT INTO t VALUES (42)");
    await server.pause();
    await expect(pgQuery(url, "SELECT 1")).rejects.toMatchObject({ code: "ECONNREFUSED" });
    await server.resume();
    expect(await pgQuery(url, "SELECT n FROM t")).toEqual([{ n: 42 }]);
  }, 60_000);
});

describe("AFS_TEST_DATABASE_URL's server", () => {
  it("is used as is, and cannot be paused", async () => {
    const before = process.env.AFS_TEST_DATABASE_URL;
    process.env.AFS_TEST_DATABASE_URL = "postgres://someone:secret@db.example:5432/admin";
    try {
      const server = await startPostgres();
      expect(server.adminUrl).toBe("postgres://someone:secret@db.example:5432/admin");
      await expect(server.pause()).rejects.toThrow(/AFS_TEST_DATABASE_URL/);
      await expect(server.resume()).rejects.toThrow(/AFS_TEST_DATABASE_URL/);
      await server.stop();
    } finally {
      if (before === undefined) delete process.env.AFS_TEST_DATABASE_URL;
      else process.env.AFS_TEST_DATABASE_URL = before;
    }
  });
});
