import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { GET as getModels } from "@/app/api/models/status/route";
import { GET as getFile } from "@/app/api/models/[key]/files/[name]/route";
import { GET as stream } from "@/app/api/stream/route";
import { POST as signIn } from "@/app/api/session/route";
import { POST as updateStatus } from "@/app/api/update-status/route";
import { storeRows } from "../support/store";
import { call, makeDataDir, TEST_TOKEN } from "../helpers";

const VIEWER = "viewer-token-123";
let address = 0;
let ip = "";
const body = JSON.stringify({ model_key: "alpha", status: "running", progress: 10 });

// Each test comes from its own address, so failure throttling in one does not leak into another.
const headers = (h: Record<string, string> = {}) => ({ "x-forwarded-for": ip, ...h });
const read = (h: Record<string, string> = {}) => call(getModels, { init: { headers: headers(h) } });
const write = (h: Record<string, string> = {}, b: string = body) =>
  call(updateStatus, { init: { method: "POST", body: b, headers: headers({ "content-type": "application/json", ...h }) } });

beforeEach(() => {
  ip = `10.0.0.${++address}`;
  makeDataDir({ models: [{ key: "alpha", name: "Alpha", artifacts: "artifacts/alpha" }], files: { "artifacts/alpha/w.bin": "weights" } });
  process.env.AFS_VIEWER_TOKEN = VIEWER;
});
afterEach(() => {
  delete process.env.AFS_VIEWER_TOKEN;
});

describe("two roles", () => {
  it("reads need the viewer or admin token once AFS_VIEWER_TOKEN is set: API, downloads and the stream", async () => {
    expect((await read()).status).toBe(401);
    expect((await read({ authorization: `Bearer ${VIEWER}` })).status).toBe(200);
    expect((await read({ authorization: `Bearer ${TEST_TOKEN}` })).status).toBe(200);
    expect((await read({ cookie: `afs_session=${VIEWER}` })).status).toBe(200);
    expect((await call(getFile, { params: { key: "alpha", name: "w.bin" }, init: { headers: headers() } })).status).toBe(401);
    expect((await call(stream, { init: { headers: headers() } })).status).toBe(401);
    delete process.env.AFS_VIEWER_TOKEN;
    expect((await read()).status).toBe(200); // open on loopback by default
  });

  it("writes need the admin token; the viewer's is refused", async () => {
    expect((await write({ authorization: `Bearer ${VIEWER}` })).status).toBe(401);
    expect((await write({ authorization: `Bearer ${TEST_TOKEN}` })).status).toBe(200);
  });

  it("a wrong token of any length is a 401, never a 500", async () => {
    for (const token of ["x", TEST_TOKEN.slice(0, -1), TEST_TOKEN + "x", "é".repeat(3000), "A".repeat(100_000)]) {
      const res = await read({ authorization: `Bearer ${token}` });
      expect(res.status, `${token.length} chars`).toBe(401);
      expect(await res.json()).toEqual({ error: "Sign in or send a valid token" });
      ip = `10.1.${address}.${token.length % 250}`; // stay under the throttle
    }
  });

  it("slows repeated failures from one address with 429 and Retry-After, not other addresses", async () => {
    for (let i = 0; i < 10; i++) expect((await read({ authorization: "Bearer nope" })).status).toBe(401);
    const limited = await read({ authorization: `Bearer ${VIEWER}` }); // even a right token waits
    expect(limited.status).toBe(429);
    expect(Number(limited.headers.get("retry-after"))).toBeGreaterThan(0);
    expect(Number(limited.headers.get("retry-after"))).toBeLessThanOrEqual(60);
    ip = "10.9.9.9";
    expect((await read({ authorization: `Bearer ${VIEWER}` })).status).toBe(200);
  });

  it("treats x-middleware-subrequest like any other header", async () => {
    const res = await read({ "x-middleware-subrequest": "proxy:proxy:proxy:proxy:proxy" });
    expect(res.status).toBe(401);
  });
});

describe("cookie sessions", () => {
  it("signs in with a valid token into an httpOnly, SameSite=Strict cookie; a bad one is 401", async () => {
    const ok = await call(signIn, { init: { method: "POST", body: JSON.stringify({ token: VIEWER }), headers: headers({ "content-type": "application/json" }) } });
    expect(ok.status).toBe(200);
    expect(await ok.json()).toEqual({ role: "viewer" });
    expect(ok.headers.get("set-cookie")).toBe(`afs_session=${VIEWER}; Path=/; HttpOnly; SameSite=Strict; Max-Age=2592000`);
    const bad = await call(signIn, { init: { method: "POST", body: JSON.stringify({ token: "guess" }), headers: headers({ "content-type": "application/json" }) } });
    expect(bad.status).toBe(401);
    expect(bad.headers.get("set-cookie")).toBeNull();
  });

  it("refuses cookie-authenticated writes from another site with 403", async () => {
    const cookie = `afs_session=${TEST_TOKEN}`;
    expect((await write({ cookie, "sec-fetch-site": "cross-site" })).status).toBe(403);
    expect((await write({ cookie, origin: "https://evil.example", host: "127.0.0.1:3000" })).status).toBe(403);
    expect((await write({ cookie, "sec-fetch-site": "same-origin" })).status).toBe(200);
    expect((await write({ cookie, origin: "http://127.0.0.1:3000", host: "127.0.0.1:3000" })).status).toBe(200);
    // A bearer token is not sent by browsers on their own, so no origin check applies to it.
    expect((await write({ authorization: `Bearer ${TEST_TOKEN}`, "sec-fetch-site": "cross-site" })).status).toBe(200);
  });

  it("refuses a form or text/plain body with 415, so a plain cross-site form cannot post", async () => {
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    expect((await write({ ...auth, "content-type": "application/x-www-form-urlencoded" }, "model_key=alpha")).status).toBe(415);
    expect((await write({ ...auth, "content-type": "multipart/form-data; boundary=x" }, "--x--")).status).toBe(415);
    expect((await write({ ...auth, "content-type": "text/plain" }, body)).status).toBe(415);
  });
});

describe("hostile bodies", () => {
  const auth = { authorization: `Bearer ${TEST_TOKEN}` };
  it.each([
    ['{"model_key":"alpha","status":"running","progress":NaN}', "not valid JSON"],
    ['{"model_key":"alpha","status":"running","progress":Infinity}', "not valid JSON"],
    ['{"model_key":"alpha","status":"running","progress":1e309}', "Invalid request"],
    ['{"model_key":"alpha","status":"running","progress":"50"}', "Invalid request"],
    ['{"model_key":"alpha","status":"running","progress":5,"__proto__":{"polluted":true}}', "Invalid request"],
    ['{"model_key":"alpha","status":"running","progress":5,"constructor":{"prototype":{"polluted":true}}}', "Invalid request"],
    ['[{"model_key":"alpha"}]', "Invalid request"],
  ])("%s → 400", async (raw, message) => {
    const res = await write(auth, raw);
    expect(res.status).toBe(400);
    expect((await res.json()).error).toMatch(message);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(await storeRows("SELECT count(*) AS n FROM status_updates")).toEqual([{ n: 0 }]);
  });
});

describe("crash safety and concurrency", () => {
  it("50 concurrent POSTs to one model: every 200 is in the history, in order, and the last one is current", async () => {
    const auth = { authorization: `Bearer ${TEST_TOKEN}` };
    const responses = await Promise.all(
      Array.from({ length: 50 }, (_, i) => write(auth, JSON.stringify({ model_key: "alpha", status: "running", progress: i + 1 }))),
    );
    const acked = await Promise.all(responses.map(async (r) => (r.status === 200 ? ((await r.json()).progress as number) : null)));
    expect(acked.every((p) => p !== null)).toBe(true);
    const history = (await storeRows<{ progress: number }>("SELECT progress FROM status_updates ORDER BY id")).map((r) => r.progress);
    expect([...history].sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, i) => i + 1));
    const current = await (await read({ authorization: `Bearer ${VIEWER}` })).json();
    expect(current.models[0].progress).toBe(history.at(-1));
  });
});
