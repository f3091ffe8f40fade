import { spawn, type ChildProcess } from "node:child_process";
import path from "node:path";
import { E2E_TOKEN, freePort } from "./env";

export type RunningServer = { url: string; port: number; child: ChildProcess; output: () => string };

// Starts the production build (scripts/serve.mjs) as its own process, for tests that restart
// or kill a server; resolves once /api/health answers. With `npm`, through `npm start` as people
// run it, and `child` is the npm process.
export async function startServer({
  dataDir,
  port = freePort(),
  env: extra = {},
  npm = false,
}: {
  dataDir: string;
  port?: number;
  env?: Record<string, string>;
  npm?: boolean;
}): Promise<RunningServer> {
  const root = path.join(__dirname, "..", "..");
  // The store goes to the data dir's default place, whatever the runner's environment says.
  const { AFS_DB: _ignored, ...env } = process.env;
  const [command, args] = npm ? ["npm", ["start", "--silent"]] : [process.execPath, [path.join(root, "scripts", "serve.mjs")]];
  const child = spawn(command, args, {
    cwd: root,
    env: { ...env, PORT: String(port), HOST: "127.0.0.1", AFS_DATA_DIR: dataDir, AFS_API_TOKEN: E2E_TOKEN, ...extra },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let log = "";
  child.stdout!.on("data", (d) => (log += d));
  child.stderr!.on("data", (d) => (log += d));
  const url = `http://127.0.0.1:${port}`;
  for (let i = 0; i < 150; i++) {
    if (child.exitCode !== null) throw new Error(`server exited early:\n${log}`);
    // Any answer means it listens (with AFS_VIEWER_TOKEN set, health is a 401 without one).
    const ok = await fetch(`${url}/api/health`).then(() => true, () => false);
    if (ok) return { url, port, child, output: () => log };
    await new Promise((r) => setTimeout(r, 100));
  }
  child.kill("SIGKILL");
  throw new Error(`server did not answer /api/health:\n${log}`);
}

export async function stopServer(server: RunningServer, signal: NodeJS.Signals = "SIGTERM") {
  // Gone already: exited (exitCode), or ended by a signal (signalCode, with exitCode null).
  if (server.child.exitCode !== null || server.child.signalCode !== null) return;
  const exited = new Promise((r) => server.child.once("exit", r));
  server.child.kill(signal);
  await exited;
}
