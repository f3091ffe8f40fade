import "server-only";
import { getAdminToken, tokenFilePath } from "@/lib/auth";
import { getEnv } from "@/lib/env";
import { describeError } from "@/lib/errors";
import { closeLiveStreams, publishEvent } from "@/lib/events";
import { getGpuPollerStats, startGpuPoller, stopGpuPoller, subscribeGpuSnapshots } from "@/lib/gpu/poller";
import { startLiveState } from "@/lib/state/live-state";
import { getDb } from "@/lib/store/db";
import { pruneGpuHistory } from "@/lib/store/gpu-samples";

const PRUNE_EVERY_MS = 10 * 60_000;

// Fails fast on a bad environment or an unopenable store, makes sure the admin token exists
// before the first write arrives (saying where it is), and starts the GPU poller.
export function startServer() {
  const env = getEnv();
  try {
    getDb();
  } catch (error) {
    // A store that cannot be opened or checked would only answer errors: refuse to start.
    console.error(`[afs] the store ${env.dbPath} cannot be used: ${describeError(error)}`);
    process.exit(1);
  }
  getAdminToken();
  const where = env.apiToken ? "AFS_API_TOKEN" : tokenFilePath(env.dataDir);
  console.log(`[afs] data dir ${env.dataDir}, store ${env.dbPath}, admin token from ${where}`);

  startLiveState();
  subscribeGpuSnapshots((snapshot) => publishEvent({ type: "gpu", data: snapshot }));
  startGpuPoller();
  setInterval(() => pruneGpuHistory({ now: Date.now() }), PRUNE_EVERY_MS).unref();
  // On SIGTERM/SIGINT Next stops accepting and waits for open connections before exiting:
  // end the live streams so it can, and stop the poller so its last samples are stored.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      closeLiveStreams();
      void stopGpuPoller();
    });
  }
  // The child runs in its own process group (so a hang kill reaches a wrapper's children too),
  // which also means it would outlive us: end it on the way out, synchronously.
  process.once("exit", () => {
    const { pid } = getGpuPollerStats();
    if (pid) {
      try {
        process.kill(-pid, "SIGKILL");
      } catch {
        // already gone
      }
    }
  });
}
