import "server-only";
import { getEnv } from "@/lib/env";
import { describeError } from "@/lib/errors";
import { getScanProgress, getStateIfReady } from "@/lib/state/live-state";
import type { HealthResponse } from "@/lib/schemas/api";
import { getStoreCreatedAt, SCHEMA_VERSION } from "@/lib/store/db";
import packageJson from "@/package.json";

// healthy, or degraded (still serving) while the data dir has warnings; unhealthy when the
// store cannot be read, which is the one thing the dashboard cannot serve without. Answers at
// once, also while the first scan of the data dir runs (`scan` says how far it is).
export async function getHealth(): Promise<HealthResponse> {
  const { dataDir, dbPath } = getEnv();
  let warnings: string[];
  let status: HealthResponse["status"];
  // Without a store there is no state, so no scan either.
  let scan: HealthResponse["scan"] = { state: "scanning", files_done: 0, files_total: 0, bytes_read: 0, checking: 0 };
  try {
    // A query, so a store that broke while running is seen here.
    getStoreCreatedAt();
    warnings = (await getStateIfReady())?.warnings ?? [];
    status = warnings.length ? "degraded" : "healthy";
    scan = getScanProgress();
  } catch (error) {
    if (!String((error as { code?: unknown })?.code).startsWith("SQLITE_")) throw error;
    console.error(error);
    warnings = [`store: ${describeError(error)}`];
    status = "unhealthy";
  }
  return {
    status,
    warning_count: warnings.length,
    timestamp: new Date().toISOString(),
    version: packageJson.version,
    data_dir: dataDir,
    db: { path: dbPath, schema_version: SCHEMA_VERSION },
    scan,
    warnings,
  };
}
