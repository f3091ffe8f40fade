import "server-only";
import crypto from "node:crypto";
import fs from "node:fs";
import path from "node:path";
import { getEnv } from "@/lib/env";
import { ApiError } from "@/lib/errors";

export function tokenFilePath(dataDir: string): string {
  return path.join(dataDir, ".afs", "token");
}

// AFS_API_TOKEN, else the token generated into <data dir>/.afs/token on first use. Creation uses
// the exclusive flag, so two processes starting together still agree on one token.
export function getAdminToken(): string {
  const { apiToken, dataDir } = getEnv();
  if (apiToken) return apiToken;
  const file = tokenFilePath(dataDir);
  try {
    return fs.readFileSync(file, "utf8").trim();
  } catch {
    fs.mkdirSync(path.dirname(file), { recursive: true });
    try {
      fs.writeFileSync(file, crypto.randomBytes(24).toString("base64url") + "\n", { flag: "wx", mode: 0o600 });
      console.log(`[afs] generated an admin API token in ${file}`);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    return fs.readFileSync(file, "utf8").trim();
  }
}

// Hashing both sides first gives equal lengths, which timingSafeEqual needs, so a token of any
// length is compared in constant time and never throws.
function sameToken(given: string, expected: string): boolean {
  const a = crypto.createHash("sha256").update(given).digest();
  const b = crypto.createHash("sha256").update(expected).digest();
  return crypto.timingSafeEqual(a, b);
}

export const SESSION_COOKIE = "afs_session";

export type Role = "admin" | "viewer";
type Credential = { token: string; via: "bearer" | "cookie" };

function readCredential(req: Request): Credential | null {
  const bearer = req.headers.get("authorization")?.match(/^Bearer\s+(\S+)\s*$/i);
  if (bearer) return { token: bearer[1], via: "bearer" };
  const cookie = req.headers
    .get("cookie")
    ?.split(";")
    .map((c) => c.trim())
    .find((c) => c.startsWith(`${SESSION_COOKIE}=`));
  if (!cookie) return null;
  return { token: decodeURIComponent(cookie.slice(SESSION_COOKIE.length + 1)), via: "cookie" };
}

// Both tokens are always compared, so which one matched does not show in the timing.
export function roleOf(token: string): Role | null {
  const viewer = getEnv().viewerToken;
  const isAdmin = sameToken(token, getAdminToken());
  const isViewer = viewer !== undefined && sameToken(token, viewer);
  return isAdmin ? "admin" : isViewer ? "viewer" : null;
}

// Failed attempts per client address in a sliding minute; past the limit the address gets 429
// without its token being checked, so guessing is slowed whatever the token's length.
const FAILURE_WINDOW_MS = 60_000;
const MAX_FAILURES = 10;
const g = globalThis as typeof globalThis & { __afsAuthFailures?: Map<string, number[]> };
const failures: Map<string, number[]> = (g.__afsAuthFailures ??= new Map());

function clientAddress(req: Request): string {
  // scripts/serve.mjs sets x-forwarded-for from the socket unless AFS_TRUST_PROXY is set.
  return req.headers.get("x-forwarded-for")?.split(",")[0].trim() || "unknown";
}

function throttle(address: string, now: number): void {
  const recent = (failures.get(address) ?? []).filter((t) => now - t < FAILURE_WINDOW_MS);
  failures.set(address, recent);
  if (recent.length >= MAX_FAILURES) {
    const retryAfter = Math.ceil((recent[0] + FAILURE_WINDOW_MS - now) / 1000);
    throw new ApiError("too_many_requests", "Too many failed attempts; try again later", undefined, {
      "Retry-After": String(Math.max(1, retryAfter)),
    });
  }
}

function recordFailure(address: string, now: number): void {
  failures.get(address)!.push(now);
  // Bounded memory under a flood of addresses: forget the oldest.
  if (failures.size > 10_000) failures.delete(failures.keys().next().value!);
}

function unauthorized(message: string): ApiError {
  return new ApiError("unauthorized", message, undefined, { "WWW-Authenticate": 'Bearer realm="afs"' });
}

// A write carried by the browser's cookie must come from our own pages: browsers send
// Sec-Fetch-Site, and Origin on every cross-origin POST.
function sameSite(req: Request): boolean {
  const site = req.headers.get("sec-fetch-site");
  if (site) return site === "same-origin" || site === "none";
  const origin = req.headers.get("origin");
  if (!origin) return true;
  try {
    return new URL(origin).host === req.headers.get("host");
  } catch {
    return false;
  }
}

// The role of a token, with failed attempts counted and throttled per client address.
function checkToken(req: Request, token: string | undefined, message: string): Role {
  const now = Date.now();
  const address = clientAddress(req);
  throttle(address, now);
  const role = token === undefined ? null : roleOf(token);
  if (!role) {
    recordFailure(address, now);
    throw unauthorized(message);
  }
  return role;
}

// The sign-in page's check: the token becomes the session cookie only if it is valid.
export function signIn(req: Request, token: string): Role {
  return checkToken(req, token, "Unknown token");
}

export function readsNeedToken(): boolean {
  return getEnv().viewerToken !== undefined;
}

// Every route handler calls this (through lib/api/route.ts). Reads are open unless
// AFS_VIEWER_TOKEN is set; writes always need the admin token.
export function requireAccess(req: Request, need: "read" | "write" | "public"): Role | null {
  if (need === "public" || (need === "read" && !readsNeedToken())) return null;
  const credential = readCredential(req);
  const role = checkToken(
    req,
    credential?.token,
    need === "write" ? "A valid admin token is required: Authorization: Bearer <token>" : "Sign in or send a valid token",
  );
  if (need === "write") {
    if (role !== "admin") throw unauthorized("A valid admin token is required: Authorization: Bearer <token>");
    if (credential!.via === "cookie" && !sameSite(req)) throw new ApiError("forbidden", "Cross-site write refused");
  }
  return role;
}
