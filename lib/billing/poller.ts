import "server-only";
import { getEnv } from "@/lib/env";
import { describeError, storeFailure } from "@/lib/errors";
import { slicer } from "@/lib/slices";
import { insertVastPoll, loadVastPolls as readStoredPolls, toStoredInstance, type StoredPoll } from "@/lib/store/vast-polls";
import { Accrual } from "./accrual";
import { listInstances, type ListInstancesResult } from "./vastai";

// The job that polls vast.ai: one process per store does it (see holdJob) and stores each poll;
// the others read the polls from the store at the same interval.
export const BILLING_JOB = "vastai-billing";

// A refused key is not retried sooner: a wrong key stays wrong until someone changes it.
export const AUTH_FAILED_DELAY_MS = 10 * 60_000;
const MAX_BACKOFF_MS = 10 * 60_000;
// A Retry-After is honoured up to an hour: a server that says "tomorrow" is asked again sooner.
const MAX_RETRY_AFTER_MS = 3_600_000;
const MAX_TIMEOUT_MS = 30_000;

export type BillingState = "off" | "ok" | "auth_failed" | "error";

// The polls so far, folded as they come (so none is kept, and none is read twice), and the newest.
export type VastPolls = { accrual: Accrual; last: StoredPoll | null; last_ok: StoredPoll | null };

// What every process knows of vast.ai.
type Billing = {
  key: string;
  polls: VastPolls;
  // Until the stored polls are read, new ones wait here (they are newer than all stored).
  ready: boolean;
  early: StoredPoll[];
  loaded: Promise<void> | null;
  // This process polls vast.ai (it holds the job), or follows the store.
  polling: boolean;
  following: boolean;
  timer: NodeJS.Timeout | null;
  // The poll or store read under way, for stopping to wait on.
  busy: Promise<unknown> | null;
  // Failed polls in a row that back off (429, 5xx).
  failures: number;
  listeners: Set<() => void>;
};

const g = globalThis as typeof globalThis & { __afsBilling?: Billing };

function billing(): Billing {
  const { vastai, storeLabel } = getEnv();
  const key = `${storeLabel}\0${vastai?.url ?? ""}`;
  if (g.__afsBilling?.key !== key) {
    // Another store or account (tests switch them): the old one's loops end.
    if (g.__afsBilling) {
      Object.assign(g.__afsBilling, { polling: false, following: false });
      stopTimer(g.__afsBilling);
    }
    g.__afsBilling = { key, polls: emptyPolls(vastai?.intervalMs ?? 0), ready: false, early: [], loaded: null, polling: false, following: false, timer: null, busy: null, failures: 0, listeners: new Set() };
  }
  return g.__afsBilling;
}

// Reads the stored polls, once per process (they are then kept current); nothing when billing is off.
export async function loadVastPolls(): Promise<void> {
  if (getEnv().vastai) await load(billing());
}

// The polls so far, without waiting (the live state has awaited loadVastPolls once); null when
// billing is off.
export function vastPollsNow(): VastPolls | null {
  return getEnv().vastai ? billing().polls : null;
}

// Called after every new poll (this process's or one read from the store).
export function subscribeBilling(listener: () => void): () => void {
  const b = billing();
  b.listeners.add(listener);
  return () => b.listeners.delete(listener);
}

// Lists vast.ai's instances once, stores the answer and adds it to the polls. A store that is
// down only loses the record (the poll still counts in this process).
export async function pollVastOnce(): Promise<ListInstancesResult> {
  const vastai = getEnv().vastai;
  if (!vastai) throw new Error("AFS_VASTAI_API_KEY is not set");
  const b = billing();
  await load(b).catch(() => {});
  const timeoutMs = Math.min(MAX_TIMEOUT_MS, Math.max(1000, vastai.intervalMs));
  const result = await listInstances({ url: vastai.url, apiKey: vastai.apiKey, timeoutMs });
  const poll: StoredPoll =
    result.state === "ok"
      ? { at: Date.now(), state: "ok", reason: null, warnings: result.warnings, instances: result.instances.map(toStoredInstance) }
      : { at: Date.now(), state: result.state, reason: result.reason, warnings: [], instances: [] };
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
// the server's Retry-After (at most an hour), else a doubling backoff from the interval, at most
// 10 minutes.
export function nextPollDelay({ result, failures, intervalMs }: { result: ListInstancesResult; failures: number; intervalMs: number }): number {
  if (result.state === "ok" || result.state === "error") return intervalMs;
  if (result.state === "auth_failed") return Math.max(intervalMs, AUTH_FAILED_DELAY_MS);
  const backoff = Math.min(MAX_BACKOFF_MS, intervalMs * 2 ** failures);
  return result.retry_after_ms === undefined ? backoff : Math.min(result.retry_after_ms, MAX_RETRY_AFTER_MS);
}

// Starts polling in this process (it took the job).
export function startVastPolling(): void {
  const vastai = getEnv().vastai;
  const b = billing();
  if (!vastai || b.polling) return;
  b.polling = true;
  stopTimer(b);
  const loop = async () => {
    const poll = pollVastOnce().catch((error): ListInstancesResult => ({ state: "error", reason: describeError(error) }));
    b.busy = poll;
    const result = await poll;
    if (!b.polling) return;
    b.failures = result.state === "rate_limited" || result.state === "server_error" ? b.failures + 1 : 0;
    b.timer = setTimeout(loop, nextPollDelay({ result, failures: b.failures - 1, intervalMs: vastai.intervalMs }));
    b.timer.unref();
  };
  void loop();
}

export async function stopVastPolling(): Promise<void> {
  const b = billing();
  b.polling = false;
  stopTimer(b);
  await b.busy;
  if (b.following) followStore(b);
}

// Reads the polls another process stores, every interval, while this one does not poll.
export function followVastPolls(): void {
  const b = billing();
  if (!getEnv().vastai || b.following) return;
  b.following = true;
  if (!b.polling) followStore(b);
}

// Stops polling and following; resolves once a poll under way is stored.
export async function stopBilling(): Promise<void> {
  const b = billing();
  b.polling = false;
  b.following = false;
  stopTimer(b);
  await b.busy;
}

function followStore(b: Billing) {
  const { intervalMs } = getEnv().vastai!;
  const read = async () => {
    try {
      await load(b);
      await eachStoredPage({ after: b.polls.last?.at ?? 0, each: (page) => append(b, page) });
    } catch (error) {
      if (!storeFailure(error)) console.error(`[afs] reading vast.ai polls: ${describeError(error)}`);
    }
  };
  const step = async () => {
    b.busy = read();
    await b.busy;
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

// A page at a time, giving the event loop back between pages: a month of polls is hundreds of
// thousands of rows, and SQLite reads block.
function load(b: Billing): Promise<void> {
  b.loaded ??= (async () => {
    const polls = emptyPolls(b.polls.accrual.intervalMs);
    const pause = slicer();
    await eachStoredPage({
      after: 0,
      each: async (page) => {
        for (const poll of page) fold(polls, poll);
        await pause();
      },
    });
    for (const poll of b.early) if (poll.at > (polls.last?.at ?? -Infinity)) fold(polls, poll);
    Object.assign(b, { polls, early: [], ready: true });
  })()
    .catch((error) => {
      b.loaded = null;
      throw error;
    });
  return b.loaded;
}

// The stored polls after `after`, a page at a time, oldest first.
async function eachStoredPage({ after, each }: { after: number; each: (page: StoredPoll[]) => unknown }) {
  for (let page = await readStoredPolls({ after }); page.length; page = await readStoredPolls({ after: page.at(-1)!.at })) await each(page);
}

function append(b: Billing, polls: StoredPoll[]) {
  if (!b.ready) {
    b.early.push(...polls);
    return;
  }
  const fresh = polls.filter((p) => p.at > (b.polls.last?.at ?? -Infinity));
  if (!fresh.length) return;
  for (const poll of fresh) fold(b.polls, poll);
  for (const listener of b.listeners) listener();
}

function fold(polls: VastPolls, poll: StoredPoll) {
  polls.accrual.add({ at: poll.at, ok: poll.state === "ok", instances: poll.instances });
  polls.last = poll;
  if (poll.state === "ok") polls.last_ok = poll;
}

function emptyPolls(intervalMs: number): VastPolls {
  return { accrual: new Accrual(intervalMs), last: null, last_ok: null };
}
