import "server-only";
import os from "node:os";
import { ALERTS_JOB, startAlerts, stopAlerts } from "@/lib/alerts/engine";
import { getAdminToken, tokenFilePath } from "@/lib/auth";
import { BILLING_JOB, followVastPolls, startVastPolling, stopBilling, stopVastPolling } from "@/lib/billing/poller";
import { getEnv } from "@/lib/env";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { describeError, storeFailure } from "@/lib/errors";
import { closeLiveStreams, publishEvent } from "@/lib/events";
import { getGpuPollerStats, startGpuPoller, stopGpuPoller, subscribeGpuSnapshots } from "@/lib/gpu/poller";
import { startIdleWatch } from "@/lib/gpu/idle";
import { shareGpuSnapshots } from "@/lib/gpu/shared";
import { FLEET_JOB, startFleet, stopFleet } from "@/lib/hosts/fleet";
import { startLiveState } from "@/lib/state/live-state";
import { holdJob, stopCoordination, UPKEEP_JOB } from "@/lib/store/coordination";
import { getStore } from "@/lib/store/db";
import { pruneGpuHistory } from "@/lib/store/gpu-samples";

const PRUNE_EVERY_MS = 10 * 60_000;

// Fails fast on a bad environment or a store that can never work (a damaged SQLite file, a
// schema newer than this version, a wrong password or database name); starts anyway when the
// database server is only down, and uses it once it is back. Makes sure the admin token exists
// before the first write arrives (saying where it is), and starts the jobs: each runs in one
// process per database (the pruner) or per host (the GPU poller).
export async function startServer() {
  let env: ReturnType<typeof getEnv>;
  try {
    env = getEnv();
  } catch (error) {
    console.error(`[afs] ${describeError(error)}`);
    process.exit(1);
  }
  try {
    await getStore();
  } catch (error) {
    // Only a database server can be down for a while; a SQLite file that cannot be opened now will not open later.
    const code = String((error as { code?: unknown }).code ?? "");
    if (env.store.engine === "sqlite" || !storeFailure(error) || /^(28|3D000)/.test(code)) {
      console.error(`[afs] the store ${env.storeLabel} cannot be used: ${describeError(error)}`);
      process.exit(1);
    }
    console.error(`[afs] the store ${env.storeLabel} does not answer (${describeError(error)}); serving 503s until it does`);
  }
  getAdminToken();
  const where = env.apiToken ? "AFS_API_TOKEN" : tokenFilePath(env.dataDir);
  console.log(`[afs] data dir ${env.dataDir}, store ${env.storeLabel}, admin token from ${where}`);

  startIdleWatch({ utilPercent: env.idle.utilPercent });
  startLiveState();
  subscribeGpuSnapshots((snapshot) => publishEvent({ type: "gpu", data: { ...snapshot, host: LOCAL_HOST } }));
  shareGpuSnapshots();
  holdJob({ name: `gpu-poller:${os.hostname()}`, start: () => startGpuPoller(), stop: () => void stopGpuPoller() });
  holdJob({ name: FLEET_JOB, start: startFleet, stop: () => void stopFleet() });
  if (env.vastai) {
    followVastPolls();
    holdJob({ name: BILLING_JOB, start: startVastPolling, stop: () => void stopVastPolling() });
  }
  holdJob({ name: ALERTS_JOB, start: startAlerts, stop: () => void stopAlerts() });
  let pruning: NodeJS.Timeout | undefined;
  const prune = () => pruneGpuHistory({ now: Date.now() }).catch((error) => console.error(`[afs] pruning gpu history: ${describeError(error)}`));
  holdJob({
    name: UPKEEP_JOB,
    start: () => (pruning = setInterval(prune, PRUNE_EVERY_MS)).unref(),
    stop: () => clearInterval(pruning),
  });
  // On SIGTERM/SIGINT Next stops accepting and waits for open connections before exiting:
  // end the live streams so it can, and stop the poller so its last samples are stored.
  for (const signal of ["SIGTERM", "SIGINT"] as const) {
    process.once(signal, () => {
      closeLiveStreams();
      void Promise.all([stopGpuPoller(), stopFleet(), stopBilling(), stopAlerts()]).then(stopCoordination);
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
