import "server-only";
import type { Dirent } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { getEnv } from "@/lib/env";
import { describeError, isMissing } from "@/lib/errors";
import { modelKeySchema } from "@/lib/schemas/config";

export type RunFileKind = "events" | "trainer_state" | "jsonl";
export type RunFile = { path: string; relative_path: string; kind: RunFileKind };

export const MAX_RUN_DEPTH = 4;
const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

// What a file is to the run readers, by its name alone; null for anything they do not read.
export function runFileKind({ name }: { name: string }): RunFileKind | null {
  if (name === "trainer_state.json") return "trainer_state";
  if (name.startsWith("events.out.tfevents.")) return "events";
  return name.endsWith(".jsonl") ? "jsonl" : null;
}

// The training artifacts under <dataDir>/runs/<key>/: TensorBoard event files and JSONL logs
// anywhere within MAX_RUN_DEPTH folders, and one trainer_state.json (the shallowest outside a
// checkpoint, else the highest checkpoint-N's). Symlinks are followed only while they stay
// inside the data dir, and each real folder and file is read once, so link loops cost nothing.
// At most AFS_MAX_RUN_FILES files are listed. A missing folder lists nothing, silently.
export async function scanRunDir({ dataDir, key }: { dataDir: string; key: string }): Promise<{
  root: string;
  files: RunFile[];
  warnings: string[];
}> {
  const root = path.join(/*turbopackIgnore: true*/ dataDir, "runs", key);
  const files: RunFile[] = [];
  const warnings: string[] = [];
  const trainerStates: { path: string; depth: number; checkpoint: number | null }[] = [];
  if (!modelKeySchema.safeParse(key).success) {
    warnings.push(`runs/${key}: not a valid model key`);
    return { root, files, warnings };
  }
  let dataRoot: string;
  let realRoot: string;
  try {
    dataRoot = await fs.realpath(dataDir);
    realRoot = await fs.realpath(root);
  } catch (error) {
    if (!isMissing(error)) warnings.push(`runs/${key}: ${describeError(error)}`);
    return { root, files, warnings };
  }
  if (!isInside({ real: realRoot, dataRoot })) {
    warnings.push(`runs/${key}: resolves outside the data dir`);
    return { root, files, warnings };
  }

  const { runFiles: maxFiles } = getEnv().limits;
  let overLimit = false;
  const seen = new Set<string>([realRoot]);
  const relative = (p: string) => path.relative(dataDir, p);
  const walk = async (dir: string, realDir: string, depth: number, checkpoint: number | null): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      warnings.push(`${relative(dir)}: ${describeError(error)}`);
      return;
    }
    // Byte order, not localeCompare: a folder may hold 100,000 names.
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = path.join(dir, entry.name);
      let real = path.join(realDir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const target = await fs.realpath(full).catch(() => null);
        const stat = target !== null && isInside({ real: target, dataRoot }) ? await fs.stat(target).catch(() => null) : null;
        if (!stat) {
          warnings.push(`${relative(full)}: symlink leads outside the data dir or nowhere; not followed`);
          continue;
        }
        real = target!;
        isDir = stat.isDirectory();
        isFile = stat.isFile();
      }
      if (!isDir && !isFile) continue;
      if (seen.has(real)) {
        warnings.push(`${relative(full)}: leads to what was already read here (a link loop or a second link); not read again`);
        continue;
      }
      if (isDir && depth < MAX_RUN_DEPTH) {
        seen.add(real);
        const match = CHECKPOINT_DIR.exec(entry.name);
        await walk(full, real, depth + 1, match ? Number(match[1]) : checkpoint);
        continue;
      }
      const kind = runFileKind({ name: entry.name });
      if (isFile && kind === "trainer_state") {
        seen.add(real);
        trainerStates.push({ path: full, depth, checkpoint });
      } else if (isFile && kind) {
        if (files.length === maxFiles) {
          overLimit = true;
          return;
        }
        seen.add(real);
        files.push({ path: full, relative_path: relative(full), kind });
      }
    }
  };
  await walk(root, realRoot, 0, null);
  if (overLimit) warnings.push(`runs/${key}: more than ${maxFiles.toLocaleString("en-US")} run files; only the first are read (AFS_MAX_RUN_FILES)`);

  const outside = trainerStates.filter((s) => s.checkpoint === null).sort((a, b) => a.depth - b.depth);
  const inCheckpoints = trainerStates.filter((s) => s.checkpoint !== null).sort((a, b) => (b.checkpoint ?? 0) - (a.checkpoint ?? 0));
  const best = outside[0] ?? inCheckpoints[0];
  if (best) files.push({ path: best.path, relative_path: relative(best.path), kind: "trainer_state" });
  return { root, files, warnings };
}

function isInside({ real, dataRoot }: { real: string; dataRoot: string }): boolean {
  return real === dataRoot || real.startsWith(dataRoot + path.sep);
}

// The names under runs/, listed once per request so models without a run folder cost nothing.
export async function listRunFolders({ dataDir }: { dataDir: string }): Promise<Set<string>> {
  return new Set(await fs.readdir(path.join(/*turbopackIgnore: true*/ dataDir, "runs")).catch(() => []));
}
