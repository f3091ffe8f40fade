import "server-only";
import { getAdminToken, tokenFilePath } from "@/lib/auth";
import { getEnv } from "@/lib/env";
import { getDb } from "@/lib/store/db";

// Fails fast on a bad environment or an unopenable store, and makes sure the admin token
// exists before the first write arrives, saying where it is.
export function startServer() {
  const env = getEnv();
  getDb();
  getAdminToken();
  const where = env.apiToken ? "AFS_API_TOKEN" : tokenFilePath(env.dataDir);
  console.log(`[afs] data dir ${env.dataDir}, store ${env.dbPath}, admin token from ${where}`);
}
