import "server-only";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { Client, type ClientChannel, type ConnectConfig, type FileEntryWithStats, type SFTPWrapper, type Stats } from "ssh2";
import {
  formatKnownHostsLine,
  hostKeyName,
  knownKeyTypes,
  parseKnownHosts,
  verifyHostKey,
  type KnownHostEntry,
} from "./known-hosts";

export type HostState = "connecting" | "online" | "unreachable" | "auth_failed" | "host_key_mismatch" | "host_key_unknown";
export type HostStatus = { state: HostState; reason: string | null; last_seen: string | null };

// How to authenticate. Secrets stay in this object: no status, reason or error carries them.
export type SshAuth = { privateKey?: string | Buffer; passphrase?: string; agent?: string };

export type SshTarget = { user: string; host: string; port: number };

export type TofuPin = (key: { name: string; host: string; port: number; fingerprint: string; line: string }) => boolean | Promise<boolean>;

export type ConnectHostOptions = {
  name: string;
  // "user@host[:port]"; an IPv6 address goes in brackets: "root@[2001:db8::1]:22".
  ssh: string;
  auth: SshAuth;
  // Entries from known_hosts and keys pinned earlier; a function is asked again on every attempt,
  // so a key added to the file meanwhile is picked up without a restart.
  knownHosts: KnownHostEntry[] | (() => Promise<KnownHostEntry[]>);
  // Asked about a host with no known key; true accepts and pins it for this connection (the
  // caller stores `line` so the next start knows it).
  tofuPin?: TofuPin;
  onState?: (status: HostStatus) => void;
  backoff?: { baseMs: number; maxMs: number };
  // 10 s × (2 + 1): a dead link is noticed within 30 s.
  keepaliveIntervalMs?: number;
  keepaliveCountMax?: number;
  readyTimeoutMs?: number;
};

export type ExecHandle = {
  // Closes the channel; the remote command loses its stdout and ends on its next write.
  close: () => void;
  // Settles when the channel closes: the exit code, or the signal, when the server sent one.
  done: Promise<{ code: number | null; signal: string | null }>;
};

export type RemoteStat = { size: number; mtimeMs: number; isDirectory: boolean };
// From readdir's attributes, which describe the entry itself (lstat): a symlink is not followed.
export type RemoteEntry = RemoteStat & { name: string; isFile: boolean; isSymlink: boolean };

export type HostConnection = {
  name: string;
  status: () => HostStatus;
  // A long-lived command streaming lines (nvidia-smi -lms); onLine gets each stdout line.
  exec: (command: string, handlers: { onLine: (line: string) => void; onStderr?: (text: string) => void }) => Promise<ExecHandle>;
  // A short command, its whole output (nvidia-smi --query-compute-apps).
  run: (command: string, opts?: { timeoutMs?: number; maxBytes?: number }) => Promise<{ code: number | null; stdout: string; stderr: string }>;
  sftp: {
    // null when the path does not exist.
    stat: (path: string) => Promise<RemoteStat | null>;
    // Bytes [from, to): fewer when the file is shorter.
    readRange: (path: string, from: number, to: number) => Promise<Buffer>;
    // null when the folder does not exist.
    list: (dir: string) => Promise<RemoteEntry[] | null>;
  };
  close: () => Promise<void>;
};

const DEFAULT_BACKOFF = { baseMs: 1000, maxMs: 60_000 };
// A remote line longer than this is cut: nvidia-smi's lines are a few hundred bytes.
const MAX_LINE = 64 * 1024;
const READ_CHUNK = 64 * 1024;
const SFTP_NO_SUCH_FILE = 2;
// Host key algorithms in ssh2's order of preference; SHA-1 "ssh-rsa" signatures are left out.
const HOST_KEY_ALGORITHMS: Record<string, string[]> = {
  "ssh-ed25519": ["ssh-ed25519"],
  "ecdsa-sha2-nistp256": ["ecdsa-sha2-nistp256"],
  "ecdsa-sha2-nistp384": ["ecdsa-sha2-nistp384"],
  "ecdsa-sha2-nistp521": ["ecdsa-sha2-nistp521"],
  "ssh-rsa": ["rsa-sha2-512", "rsa-sha2-256"],
};

export function parseSshTarget({ ssh }: { ssh: string }): SshTarget {
  const m = /^([^@\s]+)@(\[[0-9a-fA-F:.]+\]|[^@\s:[\]]+)(?::(\d{1,5}))?$/.exec(ssh);
  const port = m?.[3] ? Number(m[3]) : 22;
  if (!m || port < 1 || port > 65535) throw new Error(`ssh must look like user@host[:port], got ${JSON.stringify(ssh)}`);
  return { user: m[1], host: m[2].replace(/^\[|\]$/g, ""), port };
}

// The SSH settings from the environment (AFS_SSH_*, SSH_AUTH_SOCK), with the key file read.
export function readSshEnv({ env = process.env, home = os.homedir() }: { env?: Record<string, string | undefined>; home?: string } = {}): {
  auth: SshAuth;
  keyPath: string | null;
  knownHostsPath: string;
  tofu: boolean;
} {
  const candidates = env.AFS_SSH_KEY ? [env.AFS_SSH_KEY] : [path.join(home, ".ssh", "id_ed25519"), path.join(home, ".ssh", "id_rsa")];
  const keyPath = candidates.find((p) => fs.existsSync(/*turbopackIgnore: true*/ p)) ?? null;
  // A key named explicitly must exist; the defaults may be absent when an agent holds the key.
  if (env.AFS_SSH_KEY && !keyPath) throw new Error(`AFS_SSH_KEY names ${env.AFS_SSH_KEY}, which does not exist`);
  const auth: SshAuth = {};
  if (keyPath) auth.privateKey = fs.readFileSync(/*turbopackIgnore: true*/ keyPath);
  if (env.AFS_SSH_KEY_PASSPHRASE) auth.passphrase = env.AFS_SSH_KEY_PASSPHRASE;
  if (env.SSH_AUTH_SOCK) auth.agent = env.SSH_AUTH_SOCK;
  return {
    auth,
    keyPath,
    knownHostsPath: env.AFS_SSH_KNOWN_HOSTS || path.join(home, ".ssh", "known_hosts"),
    tofu: env.AFS_SSH_TOFU === "1",
  };
}

// One SSH connection to one host, kept up: reconnects with backoff, reports its state, and
// multiplexes exec and SFTP channels on it.
export function connectHost(options: ConnectHostOptions): HostConnection {
  const target = parseSshTarget({ ssh: options.ssh });
  const host = new SshHost(options, target);
  host.connect();
  return {
    name: options.name,
    status: () => host.status(),
    exec: (command, handlers) => host.exec(command, handlers),
    run: (command, opts) => host.run(command, opts),
    sftp: {
      stat: (p) => host.stat(p),
      readRange: (p, from, to) => host.readRange(p, from, to),
      list: (dir) => host.list(dir),
    },
    close: () => host.close(),
  };
}

type Failure = { state: HostState; reason: string };

class SshHost {
  private client: Client | null = null;
  private sftpSession: Promise<SFTPWrapper> | null = null;
  private current: HostStatus = { state: "connecting", reason: null, last_seen: null };
  // Keys accepted on first use by this connection, checked like known_hosts lines afterwards.
  private pinned: KnownHostEntry[] = [];
  private attempt = 0;
  private retryTimer: NodeJS.Timeout | null = null;
  private closed = false;

  constructor(
    private readonly opts: ConnectHostOptions,
    private readonly target: SshTarget,
  ) {}

  status(): HostStatus {
    return { ...this.current };
  }

  private setStatus(state: HostState, reason: string | null) {
    if (this.closed) return;
    const seen = state === "online" ? new Date().toISOString() : this.current.last_seen;
    const changed = state !== this.current.state || reason !== this.current.reason;
    this.current = { state, reason, last_seen: seen };
    if (changed) this.opts.onState?.(this.status());
  }

  private touch() {
    if (this.current.state === "online") this.current.last_seen = new Date().toISOString();
  }

  async connect() {
    this.retryTimer = null;
    if (this.closed) return;
    let failure: Failure | null = null;
    let entries: KnownHostEntry[];
    try {
      entries = typeof this.opts.knownHosts === "function" ? await this.opts.knownHosts() : this.opts.knownHosts;
    } catch (err) {
      return this.retry({ state: "unreachable", reason: `cannot read known hosts: ${(err as Error).message}` });
    }
    if (this.closed) return;
    const { auth } = this.opts;
    if (!auth.privateKey && !auth.agent) {
      return this.retry({ state: "auth_failed", reason: "no private key (AFS_SSH_KEY, ~/.ssh/id_ed25519, ~/.ssh/id_rsa) and no agent (SSH_AUTH_SOCK)" });
    }

    const client = new Client();
    this.client = client;
    const { host, port, user } = this.target;
    const hostVerifier = (key: Buffer, verify: (ok: boolean) => void) => {
      this.checkHostKey({ key, entries }).then(
        (f) => {
          failure = f;
          verify(f === null);
        },
        (err: Error) => {
          failure = { state: "host_key_unknown", reason: `host key check failed: ${err.message}` };
          verify(false);
        },
      );
    };
    const known = knownKeyTypes({ entries: [...entries, ...this.pinned], host, port });
    // Ask first for the key types we know for this host, as OpenSSH does, so a host with
    // several keys presents one we can compare.
    const preferred = [...known.flatMap((t) => HOST_KEY_ALGORITHMS[t] ?? []), ...Object.values(HOST_KEY_ALGORITHMS).flat()];
    const config: ConnectConfig = {
      host,
      port,
      username: user,
      privateKey: auth.privateKey,
      passphrase: auth.passphrase,
      agent: auth.agent,
      hostVerifier,
      algorithms: { serverHostKey: [...new Set(preferred)] as NonNullable<ConnectConfig["algorithms"]>["serverHostKey"] },
      keepaliveInterval: this.opts.keepaliveIntervalMs ?? 10_000,
      keepaliveCountMax: this.opts.keepaliveCountMax ?? 2,
      readyTimeout: this.opts.readyTimeoutMs ?? 20_000,
    };

    client.on("ready", () => {
      // An agent error on the way (ssh2 then tries the key) is no reason for a later close.
      failure = null;
      this.attempt = 0;
      this.setStatus("online", null);
    });
    client.on("error", (err: Error & { level?: string }) => {
      failure ??= classifyError(err);
    });
    client.on("close", () => {
      if (this.client !== client) return;
      this.client = null;
      this.sftpSession = null;
      const wasOnline = this.current.state === "online";
      this.retry(failure ?? { state: "unreachable", reason: wasOnline ? "connection closed" : "connection closed before it was ready" });
    });
    try {
      client.connect(config);
    } catch (err) {
      // ssh2 throws here for a key it cannot parse or decrypt; its message names no secret.
      this.client = null;
      this.retry({ state: "auth_failed", reason: (err as Error).message });
    }
  }

  // Null when the key is accepted.
  private async checkHostKey({ key, entries }: { key: Buffer; entries: KnownHostEntry[] }): Promise<Failure | null> {
    const { host, port } = this.target;
    const where = hostKeyName({ host, port });
    const check = verifyHostKey({ entries: [...entries, ...this.pinned], host, port, key });
    if (check.ok) return null;
    if (check.reason === "mismatch") {
      return { state: "host_key_mismatch", reason: `host key for ${where} changed: presented ${check.presented}, expected ${check.expected.join(" or ")}; not connecting` };
    }
    if (check.reason === "revoked") return { state: "host_key_mismatch", reason: `host key ${check.presented} for ${where} is marked @revoked; not connecting` };
    const line = formatKnownHostsLine({ host, port, key });
    if (this.opts.tofuPin && (await this.opts.tofuPin({ name: this.opts.name, host, port, fingerprint: check.presented, line }))) {
      this.pinned.push(...parseKnownHosts({ text: line }));
      return null;
    }
    return {
      state: "host_key_unknown",
      reason: `unknown host key ${check.presented} for ${where}: add it to known_hosts (ssh-keyscan -p ${port} ${host}) or set AFS_SSH_TOFU=1`,
    };
  }

  // Shows the failure and tries again later; the state stays the failure until the next success.
  private retry(failure: Failure) {
    if (this.closed) return;
    const { baseMs, maxMs } = this.opts.backoff ?? DEFAULT_BACKOFF;
    const ceiling = Math.min(maxMs, baseMs * 2 ** this.attempt);
    // Jitter spreads the reconnects of many hosts behind one dead link.
    const delay = Math.round(ceiling / 2 + (Math.random() * ceiling) / 2);
    this.attempt++;
    this.setStatus(failure.state, failure.reason);
    this.retryTimer = setTimeout(() => void this.connect(), delay);
    this.retryTimer.unref();
  }

  async close() {
    this.closed = true;
    if (this.retryTimer) clearTimeout(this.retryTimer);
    const client = this.client;
    this.client = null;
    if (!client) return;
    await new Promise<void>((resolve) => {
      client.once("close", () => resolve());
      client.end();
      setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000).unref();
    });
  }

  private online(): Client {
    if (!this.client || this.current.state !== "online") {
      throw new Error(`host ${this.opts.name} is not online (${this.current.state})`);
    }
    return this.client;
  }

  private openExec(command: string): Promise<ClientChannel> {
    const client = this.online();
    return new Promise((resolve, reject) => client.exec(command, (err, channel) => (err ? reject(err) : resolve(channel))));
  }

  async exec(command: string, { onLine, onStderr }: { onLine: (line: string) => void; onStderr?: (text: string) => void }): Promise<ExecHandle> {
    const channel = await this.openExec(command);
    let partial = "";
    let code: number | null = null;
    let signal: string | null = null;
    channel.setEncoding("utf8");
    channel.on("data", (chunk: string) => {
      this.touch();
      const lines = (partial + chunk).split("\n");
      partial = lines.pop()!.slice(-MAX_LINE);
      for (const line of lines) onLine(line.replace(/\r$/, ""));
    });
    channel.stderr.setEncoding("utf8");
    channel.stderr.on("data", (chunk: string) => onStderr?.(chunk));
    channel.on("exit", (c: number | null, s?: string) => {
      code = c ?? null;
      signal = s ?? null;
    });
    const done = new Promise<{ code: number | null; signal: string | null }>((resolve) => {
      channel.on("close", () => {
        if (partial) onLine(partial.replace(/\r$/, ""));
        partial = "";
        resolve({ code, signal });
      });
    });
    return {
      close: () => {
        // OpenSSH honours "signal" requests since 7.9; closing the channel is the fallback.
        channel.signal("TERM");
        channel.close();
      },
      done,
    };
  }

  async run(command: string, { timeoutMs = 10_000, maxBytes = 1024 * 1024 } = {}) {
    const channel = await this.openExec(command);
    return new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve, reject) => {
      let stdout = "";
      let stderr = "";
      let code: number | null = null;
      const timer = setTimeout(() => {
        channel.close();
        reject(new Error(`${command.split(" ")[0]} on ${this.opts.name} did not finish within ${timeoutMs} ms`));
      }, timeoutMs);
      channel.setEncoding("utf8");
      channel.stderr.setEncoding("utf8");
      channel.on("data", (chunk: string) => {
        this.touch();
        if (stdout.length < maxBytes) stdout += chunk;
      });
      channel.stderr.on("data", (chunk: string) => {
        if (stderr.length < maxBytes) stderr += chunk;
      });
      channel.on("exit", (c: number | null) => (code = c ?? null));
      channel.on("close", () => {
        clearTimeout(timer);
        resolve({ code, stdout: stdout.slice(0, maxBytes), stderr: stderr.slice(0, maxBytes) });
      });
    });
  }

  // One SFTP session per connection, opened on first use.
  private sftp(): Promise<SFTPWrapper> {
    const client = this.online();
    if (!this.sftpSession) {
      const session = new Promise<SFTPWrapper>((resolve, reject) => client.sftp((err, sftp) => (err ? reject(err) : resolve(sftp))));
      this.sftpSession = session;
      session.then(
        (sftp) => sftp.on("close", () => this.sftpSession === session && (this.sftpSession = null)),
        () => this.sftpSession === session && (this.sftpSession = null),
      );
    }
    return this.sftpSession;
  }

  async stat(p: string): Promise<RemoteStat | null> {
    const sftp = await this.sftp();
    try {
      const stats = await new Promise<Stats>((resolve, reject) => sftp.stat(p, (err, s) => (err ? reject(err) : resolve(s))));
      this.touch();
      return toRemoteStat(stats);
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async list(dir: string): Promise<RemoteEntry[] | null> {
    const sftp = await this.sftp();
    try {
      const entries = await new Promise<FileEntryWithStats[]>((resolve, reject) => sftp.readdir(dir, (err, list) => (err ? reject(err) : resolve(list))));
      this.touch();
      return entries
        .map((e) => ({ name: e.filename, ...toRemoteStat(e.attrs), isFile: fileType(e.attrs.mode) === S_IFREG, isSymlink: fileType(e.attrs.mode) === S_IFLNK }))
        .sort((a, b) => a.name.localeCompare(b.name));
    } catch (err) {
      if (isMissing(err)) return null;
      throw err;
    }
  }

  async readRange(p: string, from: number, to: number): Promise<Buffer> {
    if (!(Number.isSafeInteger(from) && Number.isSafeInteger(to) && from >= 0 && to >= from)) {
      throw new Error(`bad range [${from}, ${to})`);
    }
    const sftp = await this.sftp();
    const handle = await new Promise<Buffer>((resolve, reject) => sftp.open(p, "r", (err, h) => (err ? reject(err) : resolve(h))));
    try {
      const chunks: Buffer[] = [];
      let at = from;
      while (at < to) {
        const want = Math.min(READ_CHUNK, to - at);
        const got = await new Promise<Buffer>((resolve, reject) =>
          sftp.read(handle, Buffer.alloc(want), 0, want, at, (err, n, buf) => {
            // ssh2 reports end of file as an error with the EOF status code (1).
            if (err) return (err as { code?: number }).code === 1 ? resolve(Buffer.alloc(0)) : reject(err);
            resolve(buf.subarray(0, n));
          }),
        );
        if (got.length === 0) break;
        chunks.push(got);
        at += got.length;
      }
      this.touch();
      return Buffer.concat(chunks);
    } finally {
      sftp.close(handle, () => {});
    }
  }
}

const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;

function fileType(mode: number): number {
  return mode & 0o170000;
}

function toRemoteStat(attrs: { size: number; mtime: number; mode: number }): RemoteStat {
  // SFTP v3 carries whole seconds.
  return { size: attrs.size, mtimeMs: attrs.mtime * 1000, isDirectory: fileType(attrs.mode) === S_IFDIR };
}

function isMissing(err: unknown): boolean {
  return (err as { code?: number }).code === SFTP_NO_SUCH_FILE;
}

function classifyError(err: Error & { level?: string }): Failure {
  if (err.level === "client-authentication") return { state: "auth_failed", reason: `authentication failed: ${err.message}` };
  if (err.level === "agent") return { state: "auth_failed", reason: `SSH agent: ${err.message}` };
  return { state: "unreachable", reason: err.message };
}
