import "server-only";
import { randomUUID } from "node:crypto";
import { sql } from "kysely";
import pg from "pg";
import { getEnv } from "@/lib/env";
import { describeError } from "@/lib/errors";
import { getStore, LOCK_CLASS, postgresConfig } from "./db";

// How several processes on one PostgreSQL database act as one dashboard, with nothing but the
// database: each holds one session connection that LISTENs for the others' status writes and
// GPU snapshots, and holds the advisory locks of the jobs that must run once per fleet. When
// that connection ends (the process died, or the network went), PostgreSQL releases its locks
// and another process takes the jobs over. A process that lost its connection but lives keeps
// running its jobs (the GPU poller buffers samples until the store is back) and takes the locks
// again when it reconnects; where another process took one meanwhile, the job stops here. On
// SQLite there is one process, which runs every job.

export const STATUS_CHANNEL = "afs_status";
export const GPU_CHANNEL = "afs_gpu";
type Channel = typeof STATUS_CHANNEL | typeof GPU_CHANNEL;
// The job that keeps the shared store: pruning the GPU history, storing statuses from run files.
export const UPKEEP_JOB = "upkeep";
// Tells this process's own notifications from the others'.
export const PROCESS_ID = randomUUID();

const RETRY_MS = 2000;

export type Job = { name: string; start: () => void; stop: () => void };
type Subscriber = { channel: Channel; onNotice: (payload: string) => void; onResync?: () => void };

// `held`: jobs running here under their lock; `unconfirmed`: jobs still running here whose lock
// went with a lost connection.
type Session = {
  client: pg.Client | null;
  jobs: Map<string, Job>;
  held: Set<string>;
  unconfirmed: Set<string>;
  subscribers: Set<Subscriber>;
  timer: NodeJS.Timeout | null;
};

const g = globalThis as typeof globalThis & { __afsSession?: Session };

function session(): Session {
  return (g.__afsSession ??= { client: null, jobs: new Map(), held: new Set(), unconfirmed: new Set(), subscribers: new Set(), timer: null });
}

// Runs `start` once this process holds the job's lock (at once on SQLite), and `stop` if it
// loses it; a process that does not hold it tries again every RETRY_MS.
export function holdJob(job: Job): void {
  const s = session();
  s.jobs.set(job.name, job);
  if (getEnv().store.engine === "sqlite") {
    s.held.add(job.name);
    job.start();
    return;
  }
  schedule(s, 0);
}

// Payloads sent on a channel by any process (this one's too), and a call after each
// (re)connect, when notifications may have been missed and the subscriber should read the
// store afresh. Nothing arrives on SQLite.
export function subscribeNotices(subscriber: Subscriber): () => void {
  const s = session();
  s.subscribers.add(subscriber);
  if (getEnv().store.engine === "postgres") schedule(s, 0);
  return () => s.subscribers.delete(subscriber);
}

// Sends a payload to every process listening on the channel (PostgreSQL only; at most ~8 kB).
export async function notify(channel: Channel, payload: string): Promise<void> {
  const { db } = await getStore();
  await sql`SELECT pg_notify(${channel}, ${payload})`.execute(db);
}

// The jobs this process runs now.
export function heldJobs(): string[] {
  const s = session();
  return [...s.held, ...s.unconfirmed].sort();
}

export async function stopCoordination(): Promise<void> {
  const s = session();
  g.__afsSession = undefined;
  if (s.timer) clearTimeout(s.timer);
  s.timer = null;
  for (const name of heldJobs()) s.jobs.get(name)?.stop();
  s.held.clear();
  s.unconfirmed.clear();
  await s.client?.end().catch(() => {});
}

function schedule(s: Session, ms: number) {
  if (s.timer) return;
  s.timer = setTimeout(() => {
    s.timer = null;
    tick(s).catch((error) => {
      console.error(`[afs] store session: ${describeError(error)}`);
      schedule(s, RETRY_MS);
    });
  }, ms);
  s.timer.unref();
}

async function tick(s: Session) {
  if (g.__afsSession !== s) return;
  const setting = getEnv().store;
  if (setting.engine !== "postgres") return;
  if (!s.client) {
    const client = new pg.Client({ ...postgresConfig(setting), statement_timeout: undefined });
    client.on("error", (error) => console.error(`[afs] store session lost: ${error.message}`));
    client.on("end", () => lost(s, client));
    try {
      await client.connect();
      await client.query(`LISTEN ${STATUS_CHANNEL}; LISTEN ${GPU_CHANNEL}`);
    } catch {
      await client.end().catch(() => {});
      schedule(s, RETRY_MS);
      return;
    }
    s.client = client;
    client.on("notification", (msg) => {
      for (const sub of s.subscribers) {
        if (sub.channel !== msg.channel || !msg.payload) continue;
        // Anyone who can sign in to the database can NOTIFY: a payload that is not ours is logged, not fatal.
        try {
          sub.onNotice(msg.payload);
        } catch (error) {
          console.error(`[afs] a notice on ${msg.channel} not understood: ${describeError(error)}`);
        }
      }
    });
    for (const sub of s.subscribers) sub.onResync?.();
  }
  for (const [name, job] of s.jobs) {
    if (s.held.has(name)) continue;
    const { rows } = await s.client.query<{ ok: boolean }>("SELECT pg_try_advisory_lock($1, hashtext($2)) AS ok", [LOCK_CLASS, name]);
    if (g.__afsSession !== s) return;
    const wasRunning = s.unconfirmed.delete(name);
    if (rows[0].ok) {
      s.held.add(name);
      if (!wasRunning) {
        console.log(`[afs] this process runs ${name}`);
        job.start();
      }
    } else if (wasRunning) {
      console.log(`[afs] ${name} stops here: another process took it while this one was cut off`);
      job.stop();
    }
  }
  if ([...s.jobs.keys()].some((name) => !s.held.has(name))) schedule(s, RETRY_MS);
}

// The session ended and its locks with it. The jobs go on here until a new session finds out
// whether another process took them meanwhile.
function lost(s: Session, client: pg.Client) {
  if (s.client !== client) return;
  s.client = null;
  for (const name of s.held) s.unconfirmed.add(name);
  s.held.clear();
  if (g.__afsSession === s) schedule(s, RETRY_MS);
}
