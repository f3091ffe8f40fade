// OpenSSH's sshd on a loopback port, for tests that need a real SSH peer: a temp host key, one
// authorized client key, exec and SFTP for the user running the tests.
import { execFileSync, spawn, type ChildProcess } from "node:child_process";
import fs from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";

const SSHD = "/usr/sbin/sshd";

export type TestSshd = {
  host: string;
  port: number;
  user: string;
  dir: string;
  // The authorized client key (OpenSSH private key text).
  clientKey: string;
  // "[127.0.0.1]:port ssh-ed25519 AAAA…" for the current host key.
  knownHostsLine: () => string;
  // The current host public key blob.
  hostKey: () => Buffer;
  // sshd's log (stderr, -e), all starts together.
  log: () => string;
  stop: () => Promise<void>;
  // Starts again on the same port; rotateHostKey gives it a new host key first.
  restart: (opts?: { rotateHostKey?: boolean }) => Promise<void>;
  // Stops (SIGSTOP) or resumes every sshd process, so established links go silent without closing.
  freeze: () => void;
  thaw: () => void;
};

export function hasSshd(): boolean {
  return fs.existsSync(SSHD);
}

// Generates an ed25519 key pair in dir; returns the private key path.
export function makeKey({ dir, name }: { dir: string; name: string }): string {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", "ed25519", "-N", "", "-C", name, "-f", file]);
  return file;
}

export async function startSshd(): Promise<TestSshd> {
  if (!hasSshd()) throw new Error(`${SSHD} is missing: install Debian's openssh-server (apt-get install -y openssh-server)`);
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-sshd-"));
  // sshd's privilege separation directory; the package creates it only when its service starts.
  fs.mkdirSync("/run/sshd", { recursive: true, mode: 0o755 });
  const clientKeyPath = makeKey({ dir, name: "client" });
  fs.copyFileSync(`${clientKeyPath}.pub`, path.join(dir, "authorized_keys"));
  fs.chmodSync(path.join(dir, "authorized_keys"), 0o600);
  let hostKeyPath = makeKey({ dir, name: "host0" });
  fs.mkdirSync(path.join(dir, "home"));
  let rotations = 0;
  const port = await freePort();
  const host = "127.0.0.1";
  const writeConfig = () => {
    const conf = [
      `Port ${port}`,
      `ListenAddress ${host}`,
      `HostKey ${hostKeyPath}`,
      `PidFile ${path.join(dir, "sshd.pid")}`,
      `AuthorizedKeysFile ${path.join(dir, "authorized_keys")}`,
      // The temp dir is world-readable under /tmp, which StrictModes would reject.
      "StrictModes no",
      "UsePAM no",
      "PubkeyAuthentication yes",
      "PasswordAuthentication no",
      "KbdInteractiveAuthentication no",
      "PermitRootLogin prohibit-password",
      "Subsystem sftp internal-sftp",
      // An empty home: the remote shell reads no ~/.bashrc, whose start-up (pyenv on this
      // machine, a lock shared by every shell) would make each command slow and many stall.
      `SetEnv HOME=${path.join(dir, "home")}`,
      "LogLevel VERBOSE",
    ].join("\n");
    fs.writeFileSync(path.join(dir, "sshd_config"), `${conf}\n`);
  };

  let child: ChildProcess | null = null;
  let log = "";
  const start = async () => {
    writeConfig();
    const proc = spawn(SSHD, ["-D", "-e", "-f", path.join(dir, "sshd_config")], { stdio: ["ignore", "ignore", "pipe"] });
    child = proc;
    proc.stderr!.setEncoding("utf8");
    proc.stderr!.on("data", (chunk: string) => (log += chunk));
    const exited = new Promise<never>((_, reject) =>
      proc.once("exit", (code) => reject(new Error(`sshd exited (code ${code}) before accepting connections:\n${log.slice(-2000)}`))),
    );
    exited.catch(() => {});
    await Promise.race([waitForBanner({ host, port }), exited]);
  };

  const stop = async () => {
    const proc = child;
    child = null;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return;
    // Each connection's sshd calls setsid(), so a process group kill would miss it: kill the tree.
    const pids = [...descendantsOf({ pid: proc.pid! }), proc.pid!];
    const exited = new Promise<void>((resolve) => proc.once("exit", () => resolve()));
    for (const pid of pids) signal(pid, "SIGKILL");
    await exited;
  };

  const sendToTree = (sig: NodeJS.Signals) => {
    if (!child?.pid) return;
    for (const pid of [child.pid, ...descendantsOf({ pid: child.pid })]) signal(pid, sig);
  };

  const publicBlob = () => Buffer.from(fs.readFileSync(`${hostKeyPath}.pub`, "utf8").split(" ")[1], "base64");

  await start();
  return {
    host,
    port,
    user: os.userInfo().username,
    dir,
    clientKey: fs.readFileSync(clientKeyPath, "utf8"),
    knownHostsLine: () => `[${host}]:${port} ssh-ed25519 ${publicBlob().toString("base64")}`,
    hostKey: publicBlob,
    log: () => log,
    stop,
    restart: async ({ rotateHostKey = false } = {}) => {
      await stop();
      if (rotateHostKey) hostKeyPath = makeKey({ dir, name: `host${++rotations}` });
      await start();
    },
    freeze: () => sendToTree("SIGSTOP"),
    thaw: () => sendToTree("SIGCONT"),
  };
}

function signal(pid: number, sig: NodeJS.Signals) {
  try {
    process.kill(pid, sig);
  } catch {
    // Already gone.
  }
}

// Every process below pid, from /proc (Linux).
function descendantsOf({ pid }: { pid: number }): number[] {
  const parents = new Map<number, number[]>();
  for (const name of fs.readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    let stat: string;
    try {
      stat = fs.readFileSync(`/proc/${name}/stat`, "utf8");
    } catch {
      continue;
    }
    // The command name is in parentheses and may hold spaces; the parent pid is the 2nd field after it.
    const ppid = Number(stat.slice(stat.lastIndexOf(")") + 2).split(" ")[1]);
    parents.set(ppid, [...(parents.get(ppid) ?? []), Number(name)]);
  }
  const found: number[] = [];
  const queue = [pid];
  while (queue.length) {
    for (const c of parents.get(queue.shift()!) ?? []) {
      found.push(c);
      queue.push(c);
    }
  }
  return found;
}

export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

// Resolves once the port answers with an SSH banner.
async function waitForBanner({ host, port }: { host: string; port: number }) {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const ok = await new Promise<boolean>((resolve) => {
      const sock = net.connect(port, host);
      sock.setTimeout(1000);
      sock.once("data", (d) => {
        sock.destroy();
        resolve(d.toString("latin1").startsWith("SSH-"));
      });
      sock.once("error", () => resolve(false));
      sock.once("timeout", () => {
        sock.destroy();
        resolve(false);
      });
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`sshd did not accept connections on ${host}:${port} within 10 s`);
}
