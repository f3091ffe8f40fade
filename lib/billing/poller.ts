import "server-only";
import { getEnv } from "@/lib/env";
import { describeError, storeFailure } from "@/lib/errors";
import { insertVastPoll, loadVastPolls, type StoredPoll } from "@/lib/store/vast-polls";
import { listInstances, type ListInstancesResult } from "./vastai";

// The job that polls vast.ai: one process per store does it (see holdJob) and stores each poll;
// the others read the polls from the store at the same interval.
export const BILLING_JOB = "vastai-billing";

// A refused key is not retried sooner: a wrong key stays wrong until someone changes it.
export const AUTH_FAILED_DELAY_MS = 10 * 60_000;
const MAX_BACKOFF_MS = 10 * 60_000;
const MAX_TIMEOUT_MS = 30_000;

export type BillingState = "off" | "ok" | "auth_failed" | "error";

// What every process knows of vast.ai: the polls so far, oldest first.
type Billing = {
  key: string;
  polls: StoredPoll[];
  loaded: Promise<void> | null;
  // This process polls vast.ai (it holds the job), or follows the store.
  polling: boolean;
  following: boolean;
  timer: NodeJS.Timeout | null;
  // Failed polls in a row that back off (429, 5xx).
  failures: number;
  listeners: Set<() => void>;
};

const g = globalThis as typeof globalThis & { __afsBilling?: Billing };

function billing(): Billing {
  const { vastai, storeLabel } = getEnv();
  const key = `${storeLabel}\0${vastai?.url ?? ""}`;
  if (g.__afsBilling?.key !== key) {
    if (g.__afsBilling?.timer) clearTimeout(g.__afsBilling.timer);
    g.__afsBilling = { key, polls: [], loaded: null, polling: false, following: false, timer: null, failures: 0, listeners: new Set() };
  }
  return g.__afsBilling;
}

// The polls stored so far (read once per process, then kept current), or none when billing is off.
export async function getVastPolls(): Promise<StoredPoll[]> {
  if (!getEnv().vastai) return [];
  const b = billing();
  await load(b);
  return b.polls;
}

// The polls read so far, without waiting (the live state has awaited getVastPolls once).
export function vastPollsNow(): StoredPoll[] {
  return getEnv().vastai ? billing().polls : [];
}

// Called after every new poll (this process's or one read from the store).
export function subscribeBilling(listener: () => void): () => void {
  const b = billing();
  b.listeners.add(listener);
  return () => b.listeners.delete(listener);
}

// Lists vast.ai's instances once, stores the answer and adds it to the polls; `at` is the poll's
// time (tests pass their own clock). Never throws: a store that is down only loses the record.
export async function pollVastOnce({ at }: { at?: () => number } = {}): Promise<ListInstancesResult> {
  const vastai = getEnv().vastai;
  if (!vastai) throw new Error("AFS_VASTAI_API_KEY is not set");
  const b = billing();
  await load(b).catch(() => {});
  const timeoutMs = Math.min(MAX_TIMEOUT_MS, Math.max(1000, vastai.intervalMs));
  const result = await listInstances({ url: vastai.url, apiKey: vastai.apiKey, timeoutMs });
  const poll: StoredPoll =
    result.state === "ok"
      ? { at: at?.() ?? Date.now(), state: "ok", reason: null, warnings: result.warnings, instances: result.instances }
      : { at: at?.() ?? Date.now(), state: result.state, reason: result.reason, warnings: [], instances: [] };
  if (result.state !== "ok") console.error(`[afs] vast.ai: ${result.reason}`);
  try {
    await insertVastPoll(poll);
  } catch (error) {
    if (!storeFailure(error)) console.error(`[afs] storing a vast.ai poll: ${describeError(error)}`);
  }
  append(b, [poll]);
  return result;
}

// How long to wait before the next poll: the interval after an answer, or after a timeout or a
// broken answer (the next one may be fine); 10 minutes after a refused key; after a 429 or 5xx
// the server's Retry-After, else a doubling backoff from the interval, at most 10 minutes.
export function nextPollDelay({ result, failures, intervalMs }: { result: ListInstancesResult; failures: number; intervalMs: number }): number {
  if (result.state === "ok" || result.state === "error") return intervalMs;
  if (result.state === "auth_failed") return Math.max(intervalMs, AUTH_FAILED_DELAY_MS);
  const backoff = Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures);
  return result.retry_after_ms ?? backoff;
}

// Starts polling in this process (it took the job).
export function startVastPolling(): void {
  const vastai = getEnv().vastai;
  const b = billing();
  if (!vastai || b.polling) return;
  b.polling = true;
  stopTimer(b);
  const loop = async () => {
    const result = await pollVastOnce().catch((error): ListInstancesResult => ({ state: "error", reason: describeError(error) }));
    if (!b.polling) return;
    b.failures = result.state === "rate_limited" || result.state === "server_error" ? b.failures + 1 : 0;
    b.timer = setTimeout(loop, nextPollDelay({ result, failures: b.failures - 1, intervalMs: vastai.intervalMs }));
    b.timer.unref();
  };
  void loop();
}

export function stopVastPolling(): void {
  const b = billing();
  b.polling = false;
  stopTimer(b);
  if (b.following) followStore(b);
}

// Reads the polls another process stores, every interval, while this one does not poll.
export function followVastPolls(): void {
  const b = billing();
  if (!getEnv().vastai || b.following) return;
  b.following = true;
  if (!b.polling) followStore(b);
}

export function stopBilling(): void {
  const b = billing();
  b.polling = false;
  b.following = false;
  stopTimer(b);
}

function followStore(b: Billing) {
  const { intervalMs } = getEnv().vastai!;
  const step = async () => {
    try {
      await load(b);
      append(b, await loadVastPolls({ after: b.polls.at(-1)?.at ?? 0 }));
    } catch (error) {
      if (!storeFailure(error)) console.error(`[afs] reading vast.ai polls: ${describeError(error)}`);
    }
    if (b.polling || !b.following) return;
    b.timer = setTimeout(step, intervalMs);
    b.timer.unref();
  };
  void step();
}

function stopTimer(b: Billing) {
  if (b.timer) clearTimeout(b.timer);
  b.timer = null;
}

function load(b: Billing): Promise<void> {
  b.loaded ??= loadVastPolls({ after: 0 })
    .then((polls) => {
      // Polls taken while the store was read are newer than all it had.
      b.polls = [...polls, ...b.polls.filter((p) => p.at > (polls.at(-1)?.at ?? 0))];
    })
    .catch((error) => {
      b.loaded = null;
      throw error;
    });
  return b.loaded;
}

function append(b: Billing, polls: StoredPoll[]) {
  const last = b.polls.at(-1)?.at ?? -Infinity;
  const fresh = polls.filter((p) => p.at > last);
  if (!fresh.length) return;
  b.polls.push(...fresh);
  for (const listener of b.listeners) listener();
}
