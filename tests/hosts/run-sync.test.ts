// Copying a remote host's run files into the local mirror over SFTP, against OpenSSH's real
// sshd on loopback (tests/support/sshd.ts); the "remote" paths are local paths on this machine.
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from "vitest";
import { parseKnownHosts } from "@/lib/hosts/known-hosts";
import { startRunSync, type RemoteFileState } from "@/lib/hosts/run-sync";
import { connectHost, type HostConnection, type RemoteEntry } from "@/lib/hosts/ssh";
import { readModelRun } from "@/lib/runs/model-run";
import { until } from "../helpers";
import { EVENT_FILE, FIXTURE_RUN } from "../runs/helpers";
import { startSshd, type TestSshd } from "../support/sshd";

const KEY = "majora-v1";
const JSONL = "logs/train.jsonl";

let sshd: TestSshd;
let root: string;
let remoteRuns: string;
let mirrorDir: string;
let conn: HostConnection;
let store: Map<string, RemoteFileState>;
let changes: string[][];
let syncs: ReturnType<typeof startRunSync>[];

beforeAll(async () => {
  sshd = await startSshd();
});

afterAll(async () => {
  await sshd.stop();
  fs.rmSync(sshd.dir, { recursive: true, force: true });
});

beforeEach(async () => {
  root = fs.mkdtempSync(path.join(os.tmpdir(), "afs-run-sync-"));
  remoteRuns = path.join(root, "remote", "runs");
  mirrorDir = path.join(root, "mirror");
  fs.mkdirSync(remoteRuns, { recursive: true });
  store = new Map();
  changes = [];
  syncs = [];
  conn = connectHost({
    name: "box",
    ssh: `${sshd.user}@${sshd.host}:${sshd.port}`,
    auth: { privateKey: sshd.clientKey },
    knownHosts: parseKnownHosts({ text: sshd.knownHostsLine() }),
    backoff: { baseMs: 100, maxMs: 400 },
    readyTimeoutMs: 1500,
  });
  await waitOnline();
});

afterEach(async () => {
  for (const s of syncs) await s.stop();
  await conn.close();
  fs.rmSync(root, { recursive: true, force: true });
});

const waitOnline = () => until(async () => conn.status().state === "online", 10_000);

// Passes run on syncNow only, unless a test asks for timers; small chunks so files take several reads.
function start(over: Partial<Parameters<typeof startRunSync>[0]> = {}) {
  const sync = startRunSync({
    host: "box",
    conn,
    runsDir: remoteRuns,
    keys: () => [KEY],
    mirrorDir,
    offsets: {
      load: async () => new Map(store),
      save: async (files) => {
        for (const { path: p, ...state } of files) store.set(p, state);
      },
      forget: async (paths) => {
        for (const p of paths) store.delete(p);
      },
    },
    onChange: (keys) => changes.push(keys),
    syncIntervalMs: 600_000,
    listIntervalMs: 600_000,
    chunkBytes: 4096,
    ...over,
  });
  syncs.push(sync);
  return sync;
}

const remote = (rel: string) => path.join(remoteRuns, rel);
const mirror = (rel: string) => path.join(mirrorDir, "runs", rel);

// Every regular file under dir (symlinks left out), by relative path.
function filesUnder(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (rel: string) => {
    for (const e of fs.readdirSync(path.join(dir, rel), { withFileTypes: true })) {
      const r = path.join(rel, e.name);
      if (e.isDirectory()) walk(r);
      else if (e.isFile()) out[r] = fs.readFileSync(path.join(dir, r)).toString("base64");
    }
  };
  if (fs.existsSync(dir)) walk("");
  return out;
}

// The captured majora-v1 run (two event files, three trainer_state.json) and a JSONL log.
function writeRemoteRun() {
  fs.cpSync(FIXTURE_RUN, remote(KEY), { recursive: true });
  fs.mkdirSync(remote(`${KEY}/logs`));
  fs.writeFileSync(remote(`${KEY}/${JSONL}`), '{"step": 1, "loss": 2.5}\n{"step": 2, "loss": 2.25}\n');
}

const totalSize = (dir: string) => Object.values(filesUnder(dir)).reduce((n, b64) => n + Buffer.from(b64, "base64").length, 0);

describe("run sync", { timeout: 60_000 }, () => {
  it("copies a run folder byte for byte, then only what was appended, and a changed trainer_state.json whole", async () => {
    writeRemoteRun();
    const sync = start();
    await sync.syncNow();
    expect(sync.stats()).toMatchObject({ files: 6, bytes_read: totalSize(remote(KEY)), error: null });
    expect(Date.parse(sync.stats().last_sync!)).toBeGreaterThan(Date.now() - 10_000);
    expect(filesUnder(mirror(KEY))).toEqual(filesUnder(remote(KEY)));
    expect(Object.keys(filesUnder(mirror(KEY))).sort()).toEqual([
      "checkpoint-200/trainer_state.json",
      "checkpoint-400/trainer_state.json",
      JSONL,
      EVENT_FILE,
      "runs/events.out.tfevents.1795686961.vm.469.1",
      "trainer_state.json",
    ]);
    expect(changes).toEqual([[KEY]]);
    // The local reader's fallback time: the remote mtime, in SFTP's whole seconds.
    const remoteMtime = Math.floor(fs.statSync(remote(`${KEY}/trainer_state.json`)).mtimeMs / 1000) * 1000;
    expect(fs.statSync(mirror(`${KEY}/trainer_state.json`)).mtimeMs).toBe(remoteMtime);
    expect(store.get(`${KEY}/${EVENT_FILE}`)).toMatchObject({ offset: 23722, size: 23722 });

    // The local readers read the mirror as a data dir.
    const run = await readModelRun({ dataDir: mirrorDir, key: KEY });
    expect(run.progress).toMatchObject({ global_step: 400, max_steps: 400 });
    expect(run.files.map((f) => f.kind).sort()).toEqual(["events", "events", "jsonl", "trainer_state"]);

    const before = sync.stats().bytes_read;
    const appended = '{"step": 3, "loss": 2.0}\n';
    fs.appendFileSync(remote(`${KEY}/${JSONL}`), appended);
    await sync.syncNow();
    expect(sync.stats().bytes_read - before).toBe(appended.length);
    expect(fs.readFileSync(mirror(`${KEY}/${JSONL}`), "utf8")).toBe(fs.readFileSync(remote(`${KEY}/${JSONL}`), "utf8"));
    expect(changes).toEqual([[KEY], [KEY]]);

    // Nothing changed: nothing read, nothing reported.
    await sync.syncNow();
    expect(sync.stats().bytes_read - before).toBe(appended.length);
    expect(changes).toHaveLength(2);

    const replacement = fs.readFileSync(path.join(FIXTURE_RUN, "checkpoint-200/trainer_state.json"));
    fs.writeFileSync(remote(`${KEY}/trainer_state.json`), replacement);
    await sync.syncNow();
    expect(sync.stats().bytes_read - before).toBe(appended.length + replacement.length);
    expect(fs.readFileSync(mirror(`${KEY}/trainer_state.json`)).equals(replacement)).toBe(true);
    expect(fs.readdirSync(mirror(KEY)).filter((n) => n.endsWith(".sync-tmp"))).toEqual([]);
  });

  it("after a restart reads nothing unchanged, cuts a mirror back to its saved offset and re-copies a replaced file whole", async () => {
    writeRemoteRun();
    await start().syncNow();
    await syncs[0].stop();

    const again = start();
    await again.syncNow();
    expect(again.stats()).toMatchObject({ files: 6, bytes_read: 0, error: null });
    expect(changes).toEqual([[KEY]]);
    await again.stop();

    // Stopped between an append and its save: the mirror holds 100 bytes past the saved offset.
    const event = store.get(`${KEY}/${EVENT_FILE}`)!;
    store.set(`${KEY}/${EVENT_FILE}`, { ...event, offset: event.offset - 100 });
    // A mirror longer than its offset with bytes the remote never had, and a mirror file lost.
    fs.appendFileSync(mirror(`${KEY}/${JSONL}`), "garbage\n");
    fs.rmSync(mirror(`${KEY}/runs/events.out.tfevents.1795686961.vm.469.1`));
    const third = start();
    await third.syncNow();
    expect(third.stats()).toMatchObject({ bytes_read: 100 + 359, error: null });
    expect(filesUnder(mirror(KEY))).toEqual(filesUnder(remote(KEY)));
    expect(store.get(`${KEY}/${EVENT_FILE}`)).toEqual(event);

    // Replaced on the remote by a shorter file: copied whole into a new mirror file.
    const inode = fs.statSync(mirror(`${KEY}/${JSONL}`)).ino;
    const shorter = '{"step": 1, "loss": 9}\n';
    fs.writeFileSync(remote(`${KEY}/${JSONL}.new`), shorter);
    fs.renameSync(remote(`${KEY}/${JSONL}.new`), remote(`${KEY}/${JSONL}`));
    await third.syncNow();
    expect(third.stats().bytes_read).toBe(100 + 359 + shorter.length);
    expect(fs.readFileSync(mirror(`${KEY}/${JSONL}`), "utf8")).toBe(shorter);
    expect(fs.statSync(mirror(`${KEY}/${JSONL}`)).ino).not.toBe(inode);
    expect(store.get(`${KEY}/${JSONL}`)).toMatchObject({ offset: shorter.length, size: shorter.length });

    // A file gone from the remote keeps its mirror copy; its offset is forgotten.
    fs.rmSync(remote(`${KEY}/${JSONL}`));
    await third.syncNow();
    expect(fs.readFileSync(mirror(`${KEY}/${JSONL}`), "utf8")).toBe(shorter);
    expect(store.has(`${KEY}/${JSONL}`)).toBe(false);
    expect(third.stats().files).toBe(5);
  });

  it("follows no symlink, reads as deep as the local scanner and skips bad keys", async () => {
    const outside = path.join(root, "outside");
    fs.mkdirSync(outside);
    fs.writeFileSync(path.join(outside, "secret.jsonl"), '{"step": 1}\n');
    fs.writeFileSync(path.join(outside, "events.out.tfevents.1.x"), "not copied");
    fs.mkdirSync(remote(`${KEY}/a/b/c/d/e`), { recursive: true });
    fs.writeFileSync(remote(`${KEY}/train.jsonl`), '{"step": 1}\n');
    fs.writeFileSync(remote(`${KEY}/notes.txt`), "not a run file");
    fs.writeFileSync(remote(`${KEY}/a/b/c/d/deep.jsonl`), '{"step": 2}\n');
    fs.writeFileSync(remote(`${KEY}/a/b/c/d/e/too-deep.jsonl`), '{"step": 3}\n');
    fs.symlinkSync(path.join(outside, "secret.jsonl"), remote(`${KEY}/linked.jsonl`));
    fs.symlinkSync(outside, remote(`${KEY}/linked-dir`));
    fs.symlinkSync(outside, remote("linked-v1"));
    fs.mkdirSync(remote("Bad Key"));
    fs.writeFileSync(remote("Bad Key/x.jsonl"), "{}\n");

    const sync = start({ keys: () => [KEY, "linked-v1", "Bad Key"] });
    await sync.syncNow();
    expect(sync.stats()).toMatchObject({ files: 2, error: null });
    expect(Object.keys(filesUnder(mirrorDir)).sort()).toEqual([`runs/${KEY}/a/b/c/d/deep.jsonl`, `runs/${KEY}/train.jsonl`]);
    expect(fs.readdirSync(path.join(mirrorDir, "runs"))).toEqual([KEY]);
  });

  it("picks up a model folder that appears later on the next listing, and a newly configured key on the next pass", async () => {
    fs.mkdirSync(remote(KEY));
    fs.writeFileSync(remote(`${KEY}/train.jsonl`), '{"step": 1}\n');
    const sync = start({ keys: () => [KEY, "late-v1"], syncIntervalMs: 50, listIntervalMs: 400 });
    await sync.syncNow();
    expect(sync.stats()).toMatchObject({ files: 1, error: null });

    fs.mkdirSync(remote("late-v1/logs"), { recursive: true });
    fs.writeFileSync(remote("late-v1/logs/train.jsonl"), '{"step": 7}\n');
    await until(async () => fs.existsSync(mirror("late-v1/logs/train.jsonl")));
    expect(fs.readFileSync(mirror("late-v1/logs/train.jsonl"), "utf8")).toBe('{"step": 7}\n');
    expect(changes).toEqual([[KEY], ["late-v1"]]);
    await sync.stop();

    // Listing is due only in ten minutes, but a key not listed yet is listed on the next pass.
    fs.mkdirSync(remote("added-v1"));
    fs.writeFileSync(remote("added-v1/train.jsonl"), '{"step": 9}\n');
    const keys = [KEY];
    const later = start({ keys: () => keys, syncIntervalMs: 50 });
    await later.syncNow();
    keys.push("added-v1");
    await until(async () => fs.existsSync(mirror("added-v1/train.jsonl")));
    expect(later.stats().error).toBeNull();
  });

  it("records a dropped connection and resumes after it without copying a byte twice", async () => {
    fs.mkdirSync(remote(`${KEY}/runs`), { recursive: true });
    fs.copyFileSync(path.join(FIXTURE_RUN, EVENT_FILE), remote(`${KEY}/${EVENT_FILE}`));
    const size = fs.statSync(remote(`${KEY}/${EVENT_FILE}`)).size;
    let reads = 0;
    // sshd dies while the third chunk is asked for.
    const dropping: Parameters<typeof startRunSync>[0]["conn"] = {
      status: conn.status,
      sftp: {
        ...conn.sftp,
        readRange: async (p, from, to) => {
          if (++reads === 3) await sshd.stop();
          return conn.sftp.readRange(p, from, to);
        },
      },
    };
    const sync = start({ conn: dropping });
    await sync.syncNow();
    expect(sync.stats().error).toMatch(new RegExp(`^box: ${KEY}/runs/events\\.out\\.tfevents\\.1795686938\\.vm\\.469\\.0: `));
    expect(sync.stats()).toMatchObject({ bytes_read: 2 * 4096, last_sync: null });
    expect(fs.statSync(mirror(`${KEY}/${EVENT_FILE}`)).size).toBe(2 * 4096);
    expect(store.get(`${KEY}/${EVENT_FILE}`)?.offset).toBe(2 * 4096);
    // What was copied before the drop is reported.
    expect(changes).toEqual([[KEY]]);

    await until(async () => conn.status().state !== "online");
    // Offline: passes wait, keeping the error.
    await sync.syncNow();
    expect(sync.stats()).toMatchObject({ bytes_read: 2 * 4096, error: expect.stringContaining("box: ") });

    await sshd.restart();
    await waitOnline();
    await sync.syncNow();
    expect(sync.stats()).toMatchObject({ bytes_read: size, error: null });
    expect(fs.readFileSync(mirror(`${KEY}/${EVENT_FILE}`)).equals(fs.readFileSync(remote(`${KEY}/${EVENT_FILE}`)))).toBe(true);
    expect(changes).toEqual([[KEY], [KEY]]);
  });

  // No real SFTP server sends these names (a Linux file name holds no "/" and no NUL), so a
  // stand-in answers the listing; the store's paths are checked the same way.
  it("refuses remote names and stored paths that would leave the mirror", async () => {
    const entry = (name: string, isDirectory: boolean): RemoteEntry => ({ name, size: 3, mtimeMs: 0, isDirectory, isFile: !isDirectory, isSymlink: false });
    const read: string[] = [];
    const hostile: Parameters<typeof startRunSync>[0]["conn"] = {
      status: () => ({ state: "online", reason: null, last_seen: null }),
      sftp: {
        stat: async () => ({ size: 3, mtimeMs: 0, isDirectory: false }),
        readRange: async (p) => {
          read.push(p);
          return Buffer.from("{}\n");
        },
        list: async (dir) =>
          dir === "/r"
            ? [entry(KEY, true), entry("..", true)]
            : dir === `/r/${KEY}`
              ? [entry("..", true), entry(".", true), entry("../escape.jsonl", false), entry("nul\0.jsonl", false), entry("ok.jsonl", false)]
              : [entry("../../escape.jsonl", false)],
      },
    };
    store.set("../../escape.jsonl", { offset: 0, size: 0, mtime_ms: 0 });
    store.set(`${KEY}/../../../escape.jsonl`, { offset: 0, size: 0, mtime_ms: 0 });
    const sync = start({ conn: hostile, runsDir: "/r" });
    await sync.syncNow();
    expect(sync.stats()).toMatchObject({ files: 1, error: null });
    expect(read).toEqual([`/r/${KEY}/ok.jsonl`]);
    expect(filesUnder(root)).toEqual({ [`mirror/runs/${KEY}/ok.jsonl`]: Buffer.from("{}\n").toString("base64") });
  });
});
