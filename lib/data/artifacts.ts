import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { describeError, isMissing } from "@/lib/errors";

export type Artifact = { name: string; sizeBytes: number; path: string };

// The regular files directly inside a model's artifacts folder. Symlinks and sub-folders are not
// listed, and a folder that resolves outside the data dir lists nothing, so a download can only
// ever reach a file that this listing returned.
export async function listArtifacts({ dataDir, folder }: { dataDir: string; folder: string }): Promise<{
  files: Artifact[];
  warning?: string;
}> {
  try {
    const root = await fs.realpath(dataDir);
    const dir = await fs.realpath(path.resolve(dataDir, folder));
    if (dir !== root && !dir.startsWith(root + path.sep)) {
      return { files: [], warning: `artifacts folder "${folder}" is outside the data dir` };
    }
    const entries = await fs.readdir(dir, { withFileTypes: true });
    const files: Artifact[] = [];
    for (const entry of entries) {
      if (!entry.isFile()) continue;
      const filePath = path.join(dir, entry.name);
      const stat = await fs.stat(filePath).catch(() => null);
      if (stat?.isFile()) files.push({ name: entry.name, sizeBytes: stat.size, path: filePath });
    }
    return { files: files.sort((a, b) => a.name.localeCompare(b.name)) };
  } catch (error) {
    const why = isMissing(error) ? "not found" : describeError(error);
    return { files: [], warning: `artifacts folder "${folder}": ${why}` };
  }
}

export type ByteRange = { start: number; end: number };

// Parses a single-range `Range: bytes=…` header. null: no usable range (serve the whole file);
// "unsatisfiable": a well-formed range that lies past the end (416).
export function parseByteRange(header: string | null, size: number): ByteRange | null | "unsatisfiable" {
  const match = header?.match(/^bytes=(\d*)-(\d*)$/);
  if (!match || (match[1] === "" && match[2] === "")) return null;
  if (match[1] === "") {
    const suffix = Number(match[2]);
    if (suffix === 0) return "unsatisfiable";
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(match[1]);
  // "bytes=5-2" is not a valid range: RFC 9110 says to ignore it and serve the whole file.
  if (match[2] !== "" && Number(match[2]) < start) return null;
  if (start >= size) return "unsatisfiable";
  return { start, end: match[2] === "" ? size - 1 : Math.min(Number(match[2]), size - 1) };
}
