import { randomBytes } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { expect } from "@playwright/test";
import { startServer, stopServer, type RunningServer } from "./server";

// Building blocks of e2e/hostile.spec.ts: data dirs holding one hostile file each, a secret file
// outside them that no answer may quote, a TFRecord writer and what /proc says of the server.

export const GIB = 1024 ** 3;
const HEALTH_LIMIT_MS = 1000;

// Every GET the server answers, with the query-free defaults; a model key is filled in.
export function getPaths(key: string): string[] {
  return [
    "/",
    "/api/health",
    "/api/models/status",
    "/api/training/status",
    "/api/costs/breakdown",
    "/api/models/registry",
    "/api/metrics/training-loss",
    "/api/metrics/throughput",
    "/api/metrics/gpu-utilization",
    "/api/gpus",
    "/api/export/csv",
    "/api/export/json",
    `/api/models/${key}/status`,
    `/api/models/${key}/runs`,
  ];
}

// A file outside every data dir, with a marker on each line that must never reach an answer or
// the server's log. Each line is a JSON string, so a reader that takes it as JSONL finds it valid;
// the JSON variants are a valid evaluation and a valid config naming a model after the marker.
export type Secret = { dir: string; marker: string; text: string; evaluation: string; config: string };

export function makeSecret(): Secret {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-secret-"));
  const marker = `SECRET-MARKER-${randomBytes(8).toString("hex")}`;
  const text = path.join(dir, "secret.txt");
  fs.writeFileSync(text, `"${marker}"\n`.repeat(1000));
  const evaluation = path.join(dir, "evaluation.json");
  fs.writeFileSync(evaluation, JSON.stringify({ model_key: "alpha", score: 0.42, evaluated_at: "2026-11-01T00:00:00Z", note: marker }));
  const config = path.join(dir, "afs.config.json");
  fs.writeFileSync(config, JSON.stringify({ session: { name: marker }, models: [{ key: "alpha", name: marker, cost_per_hour: 1 }] }));
  return { dir, marker, text, evaluation, config };
}

export function modelEntry(key: string) {
  return { key, name: key, status: "pending", progress: 0, cost_per_hour: 1 };
}

// A fresh data dir with afs.config.json listing `models` (or the raw `config` text as given).
export function makeHostileDir({ models = ["alpha"], config }: { models?: string[]; config?: string } = {}): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-hostile-"));
  const text = config ?? JSON.stringify({ session: { name: "Hostile", budget_usd: 100 }, models: models.map(modelEntry) });
  fs.writeFileSync(path.join(dir, "afs.config.json"), text);
  for (const sub of ["models", "evaluations", "runs"]) fs.mkdirSync(path.join(dir, sub));
  return dir;
}

export function plant(dir: string, name: string, content: string | Buffer): string {
  const file = path.join(dir, name);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, content);
  return file;
}

// A file of `size` bytes that starts with `head` and is a hole after it: no disk, no write time.
export function plantSparse(dir: string, name: string, size: number, head = ""): string {
  const file = plant(dir, name, head);
  fs.truncateSync(file, size);
  return file;
}

// VmRSS and VmHWM (the peak RSS since start) of a process, in bytes.
export function memoryOf(pid: number): { rss: number; peak: number } {
  const status = fs.readFileSync(`/proc/${pid}/status`, "utf8");
  const kb = (field: string) => Number(new RegExp(`^${field}:\\s+(\\d+) kB`, "m").exec(status)?.[1] ?? NaN) * 1024;
  return { rss: kb("VmRSS"), peak: kb("VmHWM") };
}

// User plus system CPU time of a process, in seconds (its threads included).
export function cpuSecondsOf(pid: number): number {
  // The command name may hold spaces, so fields are counted from after its closing parenthesis.
  const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in USER_HZ (100 on Linux)
}

// Child processes of `pid`: the server must be the one process that holds the data in memory.
export function childrenOf(pid: number): number[] {
  const tasks = fs.readdirSync(`/proc/${pid}/task`);
  return tasks.flatMap((tid) =>
    fs
      .readFileSync(`/proc/${pid}/task/${tid}/children`, "utf8")
      .split(" ")
      .filter(Boolean)
      .map(Number),
  );
}

export type Answer = { path: string; status: number; ms: number; body: string };

// A GET with a hard limit, so a hung server fails the case instead of the suite.
export async function timedGet(url: string, limitMs: number): Promise<Answer> {
  const started = performance.now();
  const pathname = new URL(url).pathname;
  try {
    const res = await fetch(url, { signal: AbortSignal.timeout(limitMs) });
    const body = await res.text();
    return { path: pathname, status: res.status, ms: performance.now() - started, body };
  } catch (error) {
    return { path: pathname, status: 0, ms: performance.now() - started, body: String(error) };
  }
}

// Polls /api/health every 200 ms from start to stop, keeping every answer that was not a quick
// 200 with JSON, and every body for the leak check.
export function watchHealth(url: string) {
  const problems: string[] = [];
  const bodies: string[] = [];
  let count = 0;
  let running = true;
  const loop = (async () => {
    while (running) {
      const answer = await timedGet(`${url}/api/health`, HEALTH_LIMIT_MS);
      count++;
      bodies.push(answer.body);
      let json = false;
      try {
        json = typeof JSON.parse(answer.body) === "object";
      } catch {
        json = false;
      }
      if (answer.status !== 200 || !json || answer.ms >= HEALTH_LIMIT_MS) {
        problems.push(`health #${count}: status ${answer.status} in ${Math.round(answer.ms)} ms${json ? "" : `: ${answer.body.slice(0, 120)}`}`);
      }
      await new Promise((r) => setTimeout(r, 200));
    }
  })();
  return {
    async stop() {
      running = false;
      await loop;
      return { count, problems, bodies };
    },
  };
}

// The current warnings, as /api/health lists them; none while it does not answer.
export async function warningsOf(server: RunningServer): Promise<string[]> {
  const answer = await timedGet(`${server.url}/api/health`, 5000);
  try {
    return (JSON.parse(answer.body) as { warnings?: string[] }).warnings ?? [];
  } catch {
    return [];
  }
}

// Waits until a warning matches `pattern`, and returns it.
export async function expectWarning(server: RunningServer, pattern: RegExp, timeout = 10_000): Promise<string> {
  let found: string | undefined;
  await expect
    .poll(
      async () => {
        const warnings = await warningsOf(server);
        found = warnings.find((w) => pattern.test(w));
        return found ?? warnings; // the list, so a failure shows what was warned instead
      },
      { timeout, message: `a warning matching ${pattern}` },
    )
    .toEqual(expect.stringMatching(pattern));
  return found!;
}

export async function getJson<T = Record<string, unknown>>(server: RunningServer, pathname: string, limitMs = 10_000): Promise<T> {
  const answer = await timedGet(`${server.url}${pathname}`, limitMs);
  expect(answer.status, `${pathname}: ${answer.body.slice(0, 200)}`).toBe(200);
  return JSON.parse(answer.body) as T;
}

// Runs one case against a fresh server on `dataDir`: health is watched the whole time, and
// afterwards every GET is fetched once more. Checked for every case: health always a 200 with
// JSON within 1 s, no 5xx anywhere, the peak RSS under 1 GiB, and the secret marker in no answer
// and not in the log. The data dir is removed at the end.
export async function withServer(
  { dataDir, secret, env = {}, key = "alpha", fastMs }: { dataDir: string; secret: Secret; env?: Record<string, string>; key?: string; fastMs?: number },
  body: (server: RunningServer) => Promise<void>,
): Promise<void> {
  const server = await startServer({ dataDir, env: { AFS_GPU_SOURCE: "off", AFS_RESCAN_SECONDS: "1", ...env } });
  running.add(server);
  const pid = server.child.pid!;
  const health = watchHealth(server.url);
  const answers: Answer[] = [];
  try {
    await body(server);
    // Twice: the first round may build an answer; the second must come from what is known.
    for (const round of [1, 2]) {
      for (const pathname of getPaths(key)) {
        const answer = await timedGet(`${server.url}${pathname}`, 10_000);
        answers.push(answer);
        expect.soft(answer.status, `${pathname} (round ${round}): ${answer.body.slice(0, 200)}`).toBeGreaterThan(0);
        expect.soft(answer.status, `${pathname} (round ${round}): ${answer.body.slice(0, 200)}`).toBeLessThan(500);
        if (fastMs && round === 2) expect.soft(answer.ms, `${pathname} answered in`).toBeLessThan(fastMs);
      }
    }
    expect.soft(childrenOf(pid), "processes the server started").toEqual([]);
    expect.soft(memoryOf(pid).peak, "the server's peak RSS").toBeLessThan(GIB);
  } finally {
    const watched = await health.stop();
    expect.soft(watched.problems, `health answers (${watched.count} polled)`).toEqual([]);
    if (server.child.exitCode === null) expect.soft(memoryOf(pid).peak, "the server's peak RSS").toBeLessThan(GIB);
    await stopWithin(server, 10_000);
    running.delete(server);
    const leaks = [...answers.map((a) => `${a.path}: ${a.body}`), ...watched.bodies, `log: ${server.output()}`].filter((t) => t.includes(secret.marker));
    expect.soft(leaks.map((t) => t.slice(0, 200)), "answers quoting the secret file").toEqual([]);
    fs.rmSync(dataDir, { recursive: true, force: true });
  }
}

// Servers of cases still running. A case that times out never reaches its own cleanup, and its
// server would go on reading its hostile file for the rest of the run.
const running = new Set<RunningServer>();

export function killLeftoverServers() {
  for (const server of running) server.child.kill("SIGKILL");
  running.clear();
}

// SIGTERM, then SIGKILL if the server does not go (a thread stuck on a FIFO must not hang the suite).
async function stopWithin(server: RunningServer, ms: number) {
  const timer = setTimeout(() => server.child.kill("SIGKILL"), ms);
  await stopServer(server);
  clearTimeout(timer);
}

// Over `seconds` of quiet (health polled, a rescan each second), the server spends under half a
// core: a file it re-read on each rescan would keep one busy.
export async function expectIdle(server: RunningServer, seconds = 3) {
  const pid = server.child.pid!;
  const before = cpuSecondsOf(pid);
  await new Promise((r) => setTimeout(r, seconds * 1000));
  expect.soft(cpuSecondsOf(pid) - before, `CPU seconds spent in ${seconds} s of quiet`).toBeLessThan(seconds / 2);
}
