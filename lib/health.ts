import "server-only";
import { getEnv } from "@/lib/env";
import { getSnapshot } from "@/lib/models";
import type { HealthResponse } from "@/lib/schemas/api";
import { SCHEMA_VERSION } from "@/lib/store/db";
import packageJson from "@/package.json";

export async function getHealth(): Promise<HealthResponse> {
  const { dataDir, dbPath } = getEnv();
  // The snapshot opens the store and reads every data file, so a healthy answer means both work.
  const { warnings } = await getSnapshot();
  return {
    status: "healthy",
    timestamp: new Date().toISOString(),
    version: packageJson.version,
    data_dir: dataDir,
    db: { path: dbPath, schema_version: SCHEMA_VERSION },
    warnings,
  };
}
