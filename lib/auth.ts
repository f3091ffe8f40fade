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

export function requireAdmin(req: Request): void {
  const match = req.headers.get("authorization")?.match(/^Bearer\s+(\S+)\s*$/i);
  if (!match || !sameToken(match[1], getAdminToken())) {
    throw new ApiError("unauthorized", "A valid admin token is required: Authorization: Bearer <token>", undefined, {
      "WWW-Authenticate": 'Bearer realm="afs"',
    });
  }
}
