import "server-only";
import { getEnv } from "@/lib/env";
import { describeError, storeUnavailable } from "@/lib/errors";
import { getGpuWriterStats } from "@/lib/gpu/poller";
import { getScanProgress, getStateIfReady } from "@/lib/state/live-state";
import type { HealthResponse } from "@/lib/schemas/api";
import { heldJobs } from "@/lib/store/coordination";
import { checkStore, SCHEMA_VERSION } from "@/lib/store/db";
import packageJson from "@/package.json";

// healthy, or degraded (still serving) while the data dir has warnings; unhealthy when the
// store does not answer, which is the one thing the dashboard cannot serve without. Answers at
// once, also while the first scan of the data dir runs (`scan` says how far it is).
export async function getHealth(): Promise<HealthResponse> {
  const { dataDir, storeLabel, store: setting } = getEnv();
  const store = await checkStore();
  let warnings: string[] = [];
  if (store.ok) {
    warnings = [...((await getStateIfReady().catch((error) => (storeUnavailable(error) ? null : Promise.reject(error))))?.warnings ?? [])];
  } else {
    if (!storeUnavailable(store.error)) throw store.error;
    warnings.push(`store: ${describeError(store.error)}`);
  }
  const { buffered, dropped } = getGpuWriterStats();
  if (dropped) warnings.push(`gpu: ${dropped} samples dropped while the store was unavailable (over AFS_GPU_BUFFER_SAMPLES)`);
  if (!store.ok && buffered) warnings.push(`gpu: ${buffered} samples kept in memory until the store is back`);
  return {
    status: !store.ok ? "unhealthy" : warnings.length ? "degraded" : "healthy",
    warning_count: warnings.length,
    timestamp: new Date().toISOString(),
    version: packageJson.version,
    data_dir: dataDir,
    db: { path: storeLabel, schema_version: SCHEMA_VERSION },
    store: {
      engine: setting.engine,
      ok: store.ok,
      latency_ms: store.ok ? store.latency_ms : null,
      ...(store.ok ? {} : { error: describeError(store.error) }),
      jobs: heldJobs(),
    },
    scan: getScanProgress(),
    warnings,
  };
}
