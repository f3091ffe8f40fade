import { spawn } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { E2E_TOKEN, freePort } from "./env";
import type { RunningServer } from "./server";

// Building blocks of e2e/postgres.spec.ts: a server's health and live stream, writing statuses,
// and a server that must refuse to start. Rows are read with tests/support/postgres.ts's pgQuery.

export const ROOT = path.join(__dirname, "..", "..");
export const FAKE_NVIDIA_SMI = path.join(ROOT, "scripts", "fake-nvidia-smi.mjs");

// The GPU source of a server that samples "this host's" GPUs: the fake nvidia-smi, one line a second.
export const FAKE_GPU_ENV = { AFS_GPU_SOURCE: "nvidia-smi", NVIDIA_SMI: FAKE_NVIDIA_SMI };

export const GPU_POLLER_JOB = `gpu-poller:${os.hostname()}`;

export type Health = {
  status: string;
  store: { engine: string; ok: boolean; latency_ms: number | null; error?: string; jobs: string[] };
  warnings: string[];
};

export type Answer<T = unknown> = { status: number; body: T; text: string; ms: number };

// A GET or POST with a hard limit; a refused or cut-off request answers status 0.
export async function call<T = Record<string, unknown>>(
  server: RunningServer,
  pathname: string,
  { body, limitMs = 10_000 }: { body?: unknown; limitMs?: number } = {},
): Promise<Answer<T>> {
  const started = performance.now();
  try {
    const res = await fetch(`${server.url}${pathname}`, {
      method: body === undefined ? "GET" : "POST",
      headers: { authorization: `Bearer ${E2E_TOKEN}`, ...(body === undefined ? {} : { "content-type": "application/json" }) },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(limitMs),
    });
    const text = await res.text();
    let parsed: unknown = null;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = null;
    }
    return { status: res.status, body: parsed as T, text, ms: performance.now() - started };
  } catch (error) {
    return { status: 0, body: null as T, text: String(error), ms: performance.now() - started };
  }
}

export const health = (server: RunningServer, limitMs = 10_000) => call<Health>(server, "/api/health", { limitMs });

export const postStatus = (server: RunningServer, update: { model_key: string; status: string; progress: number }, limitMs = 15_000) =>
  call<Record<string, unknown>>(server, "/api/update-status", { body: update, limitMs });

// /api/stream, read with fetch: every event as it arrives, and whether the server said it listens.
export type LiveEvent = { type: string; data: unknown; received: number };
export type LiveStream = { status: number; events: LiveEvent[]; connected: () => boolean; close: () => void };

export async function openStream(server: RunningServer): Promise<LiveStream> {
  const controller = new AbortController();
  const res = await fetch(`${server.url}/api/stream`, { headers: { authorization: `Bearer ${E2E_TOKEN}` }, signal: controller.signal });
  const events: LiveEvent[] = [];
  let connected = false;
  if (res.body) {
    const reader = res.body.pipeThrough(new TextDecoderStream()).getReader();
    void (async () => {
      let buffer = "";
      try {
        for (;;) {
          const { value, done } = await reader.read();
          if (done) return;
          buffer += value;
          for (let end = buffer.indexOf("\n\n"); end !== -1; end = buffer.indexOf("\n\n")) {
            const block = buffer.slice(0, end);
            buffer = buffer.slice(end + 2);
            if (block.startsWith(": connected")) connected = true;
            const type = /^event: (.*)$/m.exec(block)?.[1];
            const data = /^data: (.*)$/m.exec(block)?.[1];
            if (type && data !== undefined) events.push({ type, data: JSON.parse(data), received: performance.now() });
          }
        }
      } catch {
        // aborted by close(), or the server went away
      }
    })();
  }
  return { status: res.status, events, connected: () => connected, close: () => controller.abort() };
}

// Runs the production server expecting it to refuse to start: its exit code (null if it was
// still running after `limitMs`, then killed) and everything it printed.
export async function runUntilExit({ env, limitMs = 30_000 }: { env: Record<string, string>; limitMs?: number }): Promise<{ code: number | null; output: string }> {
  const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-refused-"));
  const { AFS_DB: _ignored, DATABASE_URL: _url, ...base } = process.env;
  const child = spawn(process.execPath, [path.join(ROOT, "scripts", "serve.mjs")], {
    cwd: ROOT,
    env: { ...base, PORT: String(freePort()), HOST: "127.0.0.1", AFS_DATA_DIR: dataDir, AFS_API_TOKEN: E2E_TOKEN, AFS_GPU_SOURCE: "off", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout!.on("data", (d) => (output += d));
  child.stderr!.on("data", (d) => (output += d));
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    child.kill("SIGKILL");
  }, limitMs);
  const code = await new Promise<number | null>((resolve) => child.once("exit", (c) => resolve(c)));
  clearTimeout(timer);
  fs.rmSync(dataDir, { recursive: true, force: true });
  return { code: timedOut ? null : code, output };
}

// A process's children (the server's nvidia-smi), so a test that SIGKILLs a server can end what
// it left behind.
export function childrenOf(pid: number): number[] {
  try {
    return fs
      .readdirSync(`/proc/${pid}/task`)
      .flatMap((tid) => fs.readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8").split(" ").filter(Boolean).map(Number));
  } catch {
    return [];
  }
}

export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
