import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import type { AfsConfig } from "@/lib/schemas/config";
import { createDatabaseSync } from "./support/postgres";

export const TEST_TOKEN = "test-admin-token";

type ModelInput = Partial<AfsConfig["models"][number]> & { key: string };

export function modelConfig(m: ModelInput) {
  return { name: m.key, status: "pending", progress: 0, cost_per_hour: 1, ...m };
}

// A fresh data dir with its own SQLite file, and the environment pointed at it; in the postgres
// project (vitest.config.ts) also a fresh PostgreSQL database in DATABASE_URL.
export function makeDataDir(
  // config: null writes no afs.config.json at all.
  opts: { config?: unknown; models?: ModelInput[]; files?: Record<string, string | Buffer> } = {},
): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-test-"));
  const config = opts.config !== undefined ? opts.config : {
    session: { name: "Test session", started_at: "2026-11-01T00:00:00Z", budget_usd: 10 },
    models: (opts.models ?? []).map(modelConfig),
  };
  if (config !== null) writeFile(dir, "afs.config.json", typeof config === "string" ? config : JSON.stringify(config));
  for (const [name, content] of Object.entries(opts.files ?? {})) writeFile(dir, name, content);
  process.env.AFS_DATA_DIR = dir;
  process.env.AFS_DB = path.join(dir, ".afs", "afs.db");
  process.env.AFS_API_TOKEN = TEST_TOKEN;
  if (process.env.AFS_TEST_ENGINE === "postgres") {
    const adminUrl = process.env.AFS_TEST_PG_ADMIN_URL;
    if (!adminUrl) throw new Error("AFS_TEST_PG_ADMIN_URL is unset: the postgres project's globalSetup starts the server");
    process.env.DATABASE_URL = createDatabaseSync(adminUrl);
  } else {
    delete process.env.DATABASE_URL;
  }
  return dir;
}

export function writeFile(dir: string, name: string, content: string | Buffer) {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

// Calls a route handler the way Next does: a Request and a params promise.
export function call<P extends Record<string, string>>(
  handler: (req: Request, ctx: { params: Promise<P> }) => Promise<Response>,
  opts: { url?: string; params?: P; init?: RequestInit } = {},
) {
  const req = new Request(`http://127.0.0.1${opts.url ?? "/"}`, opts.init);
  return handler(req, { params: Promise.resolve((opts.params ?? {}) as P) });
}

export function postJson(body: unknown, headers: Record<string, string> = {}): RequestInit {
  return {
    method: "POST",
    headers: { "content-type": "application/json", authorization: `Bearer ${TEST_TOKEN}`, ...headers },
    body: typeof body === "string" ? body : JSON.stringify(body),
  };
}

export function jsonl(lines: unknown[]): string {
  return lines.map((l) => JSON.stringify(l)).join("\n") + "\n";
}

// Polls `probe` until it gives something truthy, which it returns; throws once `timeoutMs` passed.
export async function until<T>(probe: () => Promise<T | null | undefined | false>, timeoutMs = 8000): Promise<T> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > end) throw new Error(`timed out after ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 25));
  }
}
