import "server-only";
import { listArtifacts, type Artifact } from "@/lib/data/artifacts";
import { ApiError } from "@/lib/errors";
import { findModel, getSnapshot } from "@/lib/models";
import type { RegistryResponse } from "@/lib/schemas/api";

export function downloadUrl(key: string, name: string): string {
  return `/api/models/${encodeURIComponent(key)}/files/${encodeURIComponent(name)}`;
}

export async function getRegistry(): Promise<RegistryResponse> {
  const snapshot = await getSnapshot();
  const { config, models, dataDir } = snapshot;
  const warnings = [...snapshot.warnings]; // the snapshot may be shared with concurrent requests
  const listings = await Promise.all(
    models.map((m) => {
      const folder = config.models.find((c) => c.key === m.key)?.artifacts;
      return folder ? listArtifacts({ dataDir, folder }) : { files: [] as Artifact[], warning: undefined };
    }),
  );
  const entries = models.map((m, i) => {
    const { files, warning } = listings[i];
    if (warning) warnings.push(`${m.key}: ${warning}`);
    return {
      key: m.key,
      name: m.name,
      status: m.status,
      training_samples: m.training_samples,
      file_size_mb: m.file_size_mb,
      file_size_bytes: m.file_size_bytes,
      evaluation_score: m.evaluation_score,
      deployment_status: m.deployment_status,
      files: files.map((f) => ({ name: f.name, size_bytes: f.sizeBytes, download_url: downloadUrl(m.key, f.name) })),
    };
  });
  return { models: entries, warnings };
}

// The name is only ever compared with the listed files, never joined into a path, so no
// spelling of "../" can reach outside the artifacts folder.
export async function getArtifactFile({ key, name }: { key: string; name: string }): Promise<Artifact> {
  const { config, dataDir } = await getSnapshot();
  const folder = findModel(config.models, key).artifacts;
  const listing = folder ? await listArtifacts({ dataDir, folder }) : { files: [] };
  const file = listing.files.find((f) => f.name === name);
  if (!file) throw new ApiError("not_found", "File not found");
  return file;
}
