import { spawnSync } from "node:child_process";
import fs from "node:fs";
import http from "node:http";
import path from "node:path";
import Database from "better-sqlite3";
import { expect, test } from "@playwright/test";
import { createDatabase, pgQuery, startPostgres, type PostgresServer } from "../tests/support/postgres";
import { copyDemoData, E2E_TOKEN } from "./support/env";
import { startServer, stopServer, type RunningServer } from "./support/server";

// A raw request, so the path reaches the server byte for byte (fetch would normalise "../").
function rawGet(base: string, rawPath: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ hostname, port, path: rawPath, method: "GET" }, (res) => {
      let body = "";
      res.on("data", (d) => (body += d));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

test("artifact names never reach outside the listed files", async ({ baseURL }) => {
  const base = "/api/models/majora-v1/files/";
  const attempts = [
    "../afs.config.json",
    "..%2f..%2fafs.config.json",
    "%2e%2e/%2e%2e/afs.config.json",
    "%252e%252e%252fafs.config.json",
    "..%5c..%5cafs.config.json",
    "..\\..\\afs.config.json",
    "config.json%00.txt",
    "%2fetc%2fpasswd",
    "config.json%23x",
    "config.json%3Fx",
    "..",
  ];
  for (const name of attempts) {
    const res = await rawGet(baseURL!, base + name);
    expect(res.status, name).toBe(404);
    expect(res.body, name).not.toMatch(/\/tmp|\/work|afs-e2e|"session"|root:/);
  }
  expect((await rawGet(baseURL!, base + "config.json")).status).toBe(200);
});

test("security headers on pages and API answers", async ({ request }) => {
  for (const url of ["/", "/api/health", "/api/models/status", "/api/nope"]) {
    const headers = (await request.get(url)).headers();
    expect(headers["content-security-policy"], url).toContain("frame-ancestors 'none'");
    expect(headers["x-content-type-options"], url).toBe("nosniff");
    expect(headers["referrer-policy"], url).toBe("no-referrer");
    expect(headers["x-powered-by"], url).toBeUndefined();
    if (url.startsWith("/api")) expect(headers["cache-control"], url).toBe("no-store");
  }
});

test("refuses to listen beyond loopback without an admin token", () => {
  const { AFS_API_TOKEN: _t, ...env } = process.env;
  const run = spawnSync(process.execPath, [path.join(__dirname, "..", "scripts", "serve.mjs")], {
    env: { ...env, HOST: "0.0.0.0", PORT: "1" },
    encoding: "utf8",
    timeout: 20_000,
  });
  expect(run.status).toBe(1);
  expect(run.stderr).toContain("refusing to listen on 0.0.0.0: set AFS_API_TOKEN");
});

test("with a viewer token, people sign in through the page and scripts send a bearer", async ({ page, request }) => {
  const viewer = "e2e-viewer-token";
  const server = await startServer({ dataDir: copyDemoData(), env: { AFS_VIEWER_TOKEN: viewer, AFS_GPU_SOURCE: "off" } });
  try {
    expect((await request.get(`${server.url}/api/models/status`)).status()).toBe(401);
    expect((await request.get(`${server.url}/api/models/status`, { headers: { authorization: `Bearer ${viewer}` } })).status()).toBe(200);
    // The header of CVE-2025-29927 buys nothing: the handler checks access itself.
    const subrequest = { "x-middleware-subrequest": "proxy:proxy:proxy:proxy:proxy" };
    expect((await request.get(`${server.url}/api/models/status`, { headers: subrequest })).status()).toBe(401);
    expect((await request.get(`${server.url}/`, { headers: subrequest, maxRedirects: 0 })).status()).toBe(307);
    await page.goto(`${server.url}/`);
    await expect(page).toHaveURL(/\/sign-in$/);
    await page.getByLabel("Token").fill("wrong");
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page.getByRole("alert").filter({ hasText: "Unknown token" })).toBeVisible();
    await page.getByLabel("Token").fill(viewer);
    await page.getByRole("button", { name: "Sign in" }).click();
    await expect(page).toHaveURL(`${server.url}/`);
    await expect(page.getByRole("heading", { name: "AFS fine-tuning session" })).toBeVisible();
    const cookie = (await page.context().cookies()).find((c) => c.name === "afs_session")!;
    expect(cookie).toMatchObject({ httpOnly: true, sameSite: "Strict" });
    expect(await page.evaluate(() => document.cookie)).not.toContain("afs_session");
  } finally {
    await stopServer(server);
  }
});

// On both engines: SQLite's file must pass its integrity check; on PostgreSQL the server dies
// with transactions open on its connections, which must roll back whole.
for (const engine of ["sqlite", "postgres"] as const) {
  test(`SIGKILL in the middle of writes loses no acknowledged update and leaves the store intact (${engine}, 20 times)`, async () => {
    test.setTimeout(240_000);
    const dataDir = copyDemoData();
    const env: Record<string, string> = { AFS_GPU_SOURCE: "off" };
    let postgres: PostgresServer | undefined;
    let server: RunningServer | undefined;
    try {
      if (engine === "postgres") {
        postgres = await startPostgres();
        env.DATABASE_URL = await createDatabase(postgres.adminUrl);
      }
      // The progress values stored for veran-v5, read straight from the store.
      const stored = async (): Promise<Set<number>> => {
        if (engine === "postgres") {
          const [{ n }] = await pgQuery<{ n: string }>(env.DATABASE_URL, "SELECT count(*) AS n FROM schema_version");
          expect(Number(n), "schema_version rows").toBe(1);
          const rows = await pgQuery<{ progress: number }>(env.DATABASE_URL, "SELECT progress FROM status_updates WHERE model_key = 'veran-v5'");
          return new Set(rows.map((r) => r.progress));
        }
        const db = new Database(path.join(dataDir, ".afs", "afs.db"));
        try {
          expect(db.pragma("integrity_check", { simple: true })).toBe("ok");
          return new Set((db.prepare("SELECT progress FROM status_updates WHERE model_key = 'veran-v5'").all() as { progress: number }[]).map((r) => r.progress));
        } finally {
          db.close();
        }
      };
      const acknowledged: number[] = [];
      let next = 0; // each update carries a unique progress value (tenths of a percent)
      server = await startServer({ dataDir, env });
      for (let round = 0; round < 20; round++) {
        const target = server;
        const before = acknowledged.length;
        let killed = false;
        // Four writers post back to back; the kill lands while some of their requests are in flight.
        const writer = async () => {
          while (!killed) {
            const progress = next++;
            const ok = await fetch(`${target.url}/api/update-status`, {
              method: "POST",
              headers: { authorization: `Bearer ${E2E_TOKEN}`, "content-type": "application/json" },
              body: JSON.stringify({ model_key: "veran-v5", status: "running", progress: progress / 10 }),
            }).then(
              (r) => r.status === 200,
              () => false, // cut off by the kill: not acknowledged, so it may or may not be stored
            );
            if (ok) acknowledged.push(progress);
          }
        };
        const writers = Promise.all([writer(), writer(), writer(), writer()]);
        await expect.poll(() => acknowledged.length - before, { timeout: 10_000 }).toBeGreaterThanOrEqual(8 + (round % 5));
        await stopServer(target, "SIGKILL");
        killed = true;
        await writers;

        const rows = await stored();
        for (const p of acknowledged) expect(rows.has(p / 10), `update ${p} (round ${round})`).toBe(true);
        server = await startServer({ dataDir, env });
      }
      expect(next).toBeLessThanOrEqual(1000); // progress stays within 0–100
    } finally {
      if (server) await stopServer(server);
      await postgres?.stop();
      fs.rmSync(dataDir, { recursive: true, force: true });
    }
  });
}
