import "server-only";
import { listArtifacts, type Artifact } from "@/lib/data/artifacts";
import { ApiError } from "@/lib/errors";
import { findModel, type Snapshot } from "@/lib/models";
import { getState } from "@/lib/state/live-state";
import type { RegistryResponse } from "@/lib/schemas/api";

export function downloadUrl(key: string, name: string): string {
  return `/api/models/${encodeURIComponent(key)}/files/${encodeURIComponent(name)}`;
}

// Every model with its artifact files, as listed when the data dir last changed.
export function summarizeRegistry({ models, artifacts, warnings }: Snapshot): RegistryResponse {
  const listingWarnings: string[] = [];
  const entries = models.map((m) => {
    const { files, warning } = artifacts.get(m.key) ?? { files: [] };
    if (warning) listingWarnings.push(`${m.key}: ${warning}`);
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
  return { models: entries, warnings: [...warnings, ...listingWarnings] };
}

// The name is only ever compared with the listed files, never joined into a path, so no
// spelling of "../" can reach outside the artifacts folder. The folder is listed again here, so
// a file removed since the last scan is a 404 rather than a failed stream.
export async function getArtifactFile({ key, name }: { key: string; name: string }): Promise<Artifact> {
  const { config, dataDir } = await getState();
  const folder = findModel(config.models, key).artifacts;
  const listing = folder ? await listArtifacts({ dataDir, folder }) : { files: [] };
  const file = listing.files.find((f) => f.name === name);
  if (!file) throw new ApiError("not_found", "File not found");
  return file;
}
