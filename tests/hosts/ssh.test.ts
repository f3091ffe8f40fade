// The SSH connection layer against OpenSSH's real sshd on loopback (tests/support/sshd.ts).
import fs from "node:fs";
import path from "node:path";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { APPS_QUERY_FIELDS, GPU_QUERY_FIELDS, parseComputeApps, parseGpuLine } from "@/lib/gpu/parse";
import { fingerprintKey, parseKnownHosts } from "@/lib/hosts/known-hosts";
import { connectHost, parseSshTarget, readSshEnv, type ConnectHostOptions, type HostConnection, type HostStatus } from "@/lib/hosts/ssh";
import { makeKey, startSshd, type TestSshd } from "../support/sshd";

const FAKE_NVIDIA_SMI = `${process.execPath} ${path.resolve("scripts/fake-nvidia-smi.mjs")}`;
// Short enough that the reconnect cases take a second or two.
const FAST = { backoff: { baseMs: 100, maxMs: 400 }, keepaliveIntervalMs: 200, keepaliveCountMax: 2, readyTimeoutMs: 1500 };

let sshd: TestSshd;
let conn: HostConnection | null = null;
let states: HostStatus[] = [];

beforeEach(async () => {
  sshd = await startSshd();
  states = [];
});

afterEach(async () => {
  await conn?.close();
  conn = null;
  await sshd.stop();
  fs.rmSync(sshd.dir, { recursive: true, force: true });
});

function connect(over: Partial<ConnectHostOptions> = {}) {
  conn = connectHost({
    name: "box",
    ssh: `${sshd.user}@${sshd.host}:${sshd.port}`,
    auth: { privateKey: sshd.clientKey },
    knownHosts: parseKnownHosts({ text: sshd.knownHostsLine() }),
    onState: (s) => states.push(s),
    ...FAST,
    ...over,
  });
  return conn;
}

async function waitFor<T>(what: string, fn: () => T | undefined | null | false, timeoutMs = 10_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = fn();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; states: ${JSON.stringify(states)}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

// sshd runs on this machine, so the "remote" processes are visible in /proc.
function processWithEnv(entry: string): boolean {
  for (const pid of fs.readdirSync("/proc").filter((n) => /^\d+$/.test(n))) {
    try {
      if (fs.readFileSync(`/proc/${pid}/environ`, "utf8").split("\0").includes(entry)) return true;
    } catch {
      // Gone meanwhile, or not ours to read.
    }
  }
  return false;
}

const waitForState = (c: HostConnection, state: HostStatus["state"], timeoutMs?: number) =>
  waitFor(`state ${state}`, () => (c.status().state === state ? c.status() : null), timeoutMs);

// Each exec starts the remote user's shell, which on a developer box may source a slow ~/.bashrc.
describe("ssh connection", { timeout: 60_000 }, () => {
  it("goes online, streams exec lines, runs commands and reads over SFTP", async () => {
    const c = connect();
    expect(c.status().state).toBe("connecting");
    const online = await waitForState(c, "online");
    expect(online.reason).toBeNull();
    expect(Date.parse(online.last_seen!)).toBeGreaterThan(Date.now() - 10_000);
    expect(states.map((s) => s.state)).toEqual(["online"]);
    expect(sshd.log()).toMatch(/Accepted publickey for \S+ from 127\.0\.0\.1/);

    // Lines arrive as they are printed, split across chunks or not.
    const lines: string[] = [];
    let stderr = "";
    const printf = await c.exec("printf 'one\\ntwo\\n'; sleep 0.2; printf 'thr'; sleep 0.2; printf 'ee\\nlast'; echo oops >&2; exit 3", {
      onLine: (l) => lines.push(l),
      onStderr: (t) => (stderr += t),
    });
    expect(await printf.done).toEqual({ code: 3, signal: null });
    expect(lines).toEqual(["one", "two", "three", "last"]);
    expect(stderr).toContain("oops\n");

    // The fake nvidia-smi on the "remote" side, parsed by the local poller's parser.
    const readings: number[] = [];
    const mark = `AFS_TEST_MARK=${process.pid}-${Date.now()}`;
    const smi = await c.exec(`env ${mark} ${FAKE_NVIDIA_SMI} --query-gpu=${GPU_QUERY_FIELDS.join(",")} --format=csv,noheader,nounits -lms 100`, {
      onLine: (line) => {
        const parsed = parseGpuLine({ line, fields: GPU_QUERY_FIELDS });
        if (parsed?.kind === "reading") readings.push(parsed.reading.index);
      },
    });
    await waitFor("five readings", () => readings.length >= 5);
    smi.close();
    const end = await smi.done;
    expect(end.code === null || end.code !== 0 || end.signal !== null).toBe(true);
    // The remote command ends too (it loses its stdout), so a restarted stream never runs beside it.
    await waitFor("the remote nvidia-smi to end", () => !processWithEnv(mark), 5000);
    const count = readings.length;
    await new Promise((r) => setTimeout(r, 300));
    expect(readings.length).toBe(count);
    expect(readings.every((i) => i === 0)).toBe(true);

    const apps = await c.run(`${FAKE_NVIDIA_SMI} --query-compute-apps=${APPS_QUERY_FIELDS.join(",")} --format=csv,noheader,nounits`);
    expect(apps.code).toBe(0);
    const parsedApps = parseComputeApps({ text: apps.stdout });
    expect(parsedApps.length).toBeGreaterThan(0);
    expect(parsedApps[0].pid).toBeGreaterThan(0);

    // SFTP: a run folder with a growing file.
    const runs = path.join(sshd.dir, "runs");
    fs.mkdirSync(path.join(runs, "veran-v5"), { recursive: true });
    const log = path.join(runs, "veran-v5", "train.jsonl");
    fs.writeFileSync(log, '{"step":1}\n{"step":2}\n');
    const stat = await c.sftp.stat(log);
    expect(stat).toEqual({ size: 22, mtimeMs: Math.floor(fs.statSync(log).mtimeMs / 1000) * 1000, isDirectory: false });
    expect(await c.sftp.stat(path.join(runs, "absent"))).toBeNull();
    expect((await c.sftp.stat(runs))!.isDirectory).toBe(true);
    expect((await c.sftp.readRange(log, 0, 11)).toString()).toBe('{"step":1}\n');
    fs.appendFileSync(log, '{"step":3}\n');
    expect((await c.sftp.readRange(log, 11, 1000)).toString()).toBe('{"step":2}\n{"step":3}\n');
    expect((await c.sftp.readRange(log, 33, 40)).length).toBe(0);
    // Larger than one SFTP read.
    const big = Buffer.alloc(300_000, 7);
    big.write("end", big.length - 3);
    fs.writeFileSync(path.join(runs, "big.bin"), big);
    expect((await c.sftp.readRange(path.join(runs, "big.bin"), 1, big.length)).equals(big.subarray(1))).toBe(true);
    const listed = await c.sftp.list(runs);
    expect(listed!.map((e) => [e.name, e.isDirectory])).toEqual([["big.bin", false], ["veran-v5", true]]);
    expect(await c.sftp.list(path.join(runs, "absent"))).toBeNull();
  });

  it("goes unreachable when sshd dies and online again after it restarts", async () => {
    const c = connect();
    await waitForState(c, "online");
    const lines: string[] = [];
    const stream = await c.exec("while true; do echo tick; sleep 0.1; done", { onLine: (l) => lines.push(l) });
    await waitFor("a tick", () => lines.length > 0);
    const seenBefore = c.status().last_seen;

    await sshd.stop();
    const down = await waitForState(c, "unreachable", 5000);
    expect(down.reason).toBeTruthy();
    expect(down.last_seen).not.toBeNull();
    expect(Date.parse(down.last_seen!)).toBeGreaterThanOrEqual(Date.parse(seenBefore!));
    await stream.done;
    await expect(c.exec("true", { onLine: () => {} })).rejects.toThrow(/not online \(unreachable\)/);
    await expect(c.sftp.stat("/")).rejects.toThrow(/not online/);

    // Retries while down keep the state unreachable (no flapping through "connecting").
    await new Promise((r) => setTimeout(r, 800));
    expect(c.status().state).toBe("unreachable");

    await sshd.restart();
    await waitForState(c, "online", 5000);
    // A reason may change while down (closed, then refused); the states themselves do not flap.
    expect(states.map((s) => s.state).filter((s, i, all) => s !== all[i - 1])).toEqual(["online", "unreachable", "online"]);
    expect((await c.run("echo back")).stdout).toBe("back\n");
    expect(await c.sftp.stat(sshd.dir)).toMatchObject({ isDirectory: true });
  });

  it("notices a link that goes silent through keepalive", async () => {
    const c = connect();
    await waitForState(c, "online");
    const frozenAt = Date.now();
    sshd.freeze();
    try {
      const down = await waitForState(c, "unreachable", 5000);
      // 200 ms × (2 + 1) plus scheduling; a default connection uses 10 s × 3 = 30 s.
      expect(Date.now() - frozenAt).toBeLessThan(2000);
      expect(down.reason).toMatch(/keepalive/i);
    } finally {
      sshd.thaw();
    }
    await waitForState(c, "online", 5000);
  });

  it("refuses a changed host key before authenticating, naming both fingerprints", async () => {
    const oldKey = sshd.hostKey();
    const c = connect();
    await waitForState(c, "online");
    const logBefore = sshd.log().length;

    await sshd.restart({ rotateHostKey: true });
    const newKey = sshd.hostKey();
    expect(newKey.equals(oldKey)).toBe(false);
    const refused = await waitForState(c, "host_key_mismatch", 5000);
    expect(refused.reason).toContain(`presented ${fingerprintKey({ key: newKey })}`);
    expect(refused.reason).toContain(`expected ${fingerprintKey({ key: oldKey })}`);
    // Several retries, none of which got as far as offering a key.
    await new Promise((r) => setTimeout(r, 600));
    expect(c.status().state).toBe("host_key_mismatch");
    const since = sshd.log().slice(logBefore);
    expect(since).toMatch(/Connection (closed|reset) by 127\.0\.0\.1/);
    expect(since).not.toMatch(/publickey|Accepted|Failed|userauth/i);
  });

  it("reports auth_failed for a key the host does not authorize", async () => {
    const stranger = fs.readFileSync(makeKey({ dir: sshd.dir, name: "stranger" }), "utf8");
    const c = connect({ auth: { privateKey: stranger } });
    const failed = await waitForState(c, "auth_failed", 5000);
    expect(failed.reason).toMatch(/authentication/i);
    expect(failed.last_seen).toBeNull();
    expect(sshd.log()).not.toMatch(/Accepted publickey/);
  });

  it("never puts a passphrase or key into a state", async () => {
    const file = path.join(sshd.dir, "locked");
    fs.copyFileSync(path.join(sshd.dir, "client"), file);
    const { execFileSync } = await import("node:child_process");
    execFileSync("ssh-keygen", ["-q", "-p", "-P", "", "-N", "s3cret-pass", "-f", file]);
    const locked = fs.readFileSync(file, "utf8");
    const wrong = connect({ auth: { privateKey: locked, passphrase: "wrong-pass" } });
    const failed = await waitForState(wrong, "auth_failed", 5000);
    expect(JSON.stringify(states)).not.toMatch(/wrong-pass|PRIVATE KEY|s3cret/);
    expect(failed.reason).toBeTruthy();
    await wrong.close();
    states = [];
    const right = connect({ auth: { privateKey: locked, passphrase: "s3cret-pass" } });
    await waitForState(right, "online");
  });

  it("refuses an unknown host unless TOFU pins its key, then holds it to that key", async () => {
    const refused = connect({ knownHosts: [] });
    const unknown = await waitForState(refused, "host_key_unknown", 5000);
    expect(unknown.reason).toContain(fingerprintKey({ key: sshd.hostKey() }));
    expect(unknown.reason).toContain("AFS_SSH_TOFU");
    expect(sshd.log()).not.toMatch(/publickey/i);
    await refused.close();

    const pins: { fingerprint: string; line: string }[] = [];
    const c = connect({
      knownHosts: async () => [],
      tofuPin: ({ fingerprint, line }) => {
        pins.push({ fingerprint, line });
        return true;
      },
    });
    await waitForState(c, "online");
    expect(pins).toEqual([{ fingerprint: fingerprintKey({ key: sshd.hostKey() }), line: sshd.knownHostsLine() }]);

    // A pinned key binds like a known_hosts line: a new key is a mismatch, not another pin.
    const pinnedKey = sshd.hostKey();
    await sshd.restart({ rotateHostKey: true });
    const mismatch = await waitForState(c, "host_key_mismatch", 5000);
    expect(mismatch.reason).toContain(`expected ${fingerprintKey({ key: pinnedKey })}`);
    expect(pins).toHaveLength(1);
  });
});

describe("settings", () => {
  it("parses user@host[:port]", () => {
    expect(parseSshTarget({ ssh: "root@203.0.113.7:22022" })).toEqual({ user: "root", host: "203.0.113.7", port: 22022 });
    expect(parseSshTarget({ ssh: "ubuntu@box.example" })).toEqual({ user: "ubuntu", host: "box.example", port: 22 });
    expect(parseSshTarget({ ssh: "root@[2001:db8::1]:2222" })).toEqual({ user: "root", host: "2001:db8::1", port: 2222 });
    for (const bad of ["box.example", "root@", "root@box:99999", "root@box:22:1", "a b@box"]) {
      expect(() => parseSshTarget({ ssh: bad })).toThrow(/user@host/);
    }
  });

  it("reads AFS_SSH_* and SSH_AUTH_SOCK", () => {
    const home = sshd.dir;
    fs.mkdirSync(path.join(home, ".ssh"));
    expect(readSshEnv({ env: {}, home })).toEqual({ auth: {}, keyPath: null, knownHostsPath: path.join(home, ".ssh", "known_hosts"), tofu: false });
    fs.copyFileSync(path.join(sshd.dir, "client"), path.join(home, ".ssh", "id_rsa"));
    expect(readSshEnv({ env: {}, home }).keyPath).toBe(path.join(home, ".ssh", "id_rsa"));
    fs.copyFileSync(path.join(sshd.dir, "client"), path.join(home, ".ssh", "id_ed25519"));
    const env = readSshEnv({ env: { SSH_AUTH_SOCK: "/tmp/agent.sock", AFS_SSH_KEY_PASSPHRASE: "pw", AFS_SSH_TOFU: "1", AFS_SSH_KNOWN_HOSTS: "/k" }, home });
    expect(env.keyPath).toBe(path.join(home, ".ssh", "id_ed25519"));
    expect(env.auth.privateKey!.toString()).toBe(sshd.clientKey);
    expect(env).toMatchObject({ auth: { agent: "/tmp/agent.sock", passphrase: "pw" }, knownHostsPath: "/k", tofu: true });
    expect(() => readSshEnv({ env: { AFS_SSH_KEY: path.join(home, "nope") }, home })).toThrow(/AFS_SSH_KEY names/);
  });
});
