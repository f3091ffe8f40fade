import "server-only";
import type { Dirent } from "node:fs";
import fs from "node:fs/promises";
import path from "node:path";
import { describeError, isMissing } from "@/lib/errors";
import { modelKeySchema } from "@/lib/schemas/config";

export type RunFileKind = "events" | "trainer_state" | "jsonl";
export type RunFile = { path: string; relative_path: string; kind: RunFileKind };

const MAX_DEPTH = 4;
const CHECKPOINT_DIR = /^checkpoint-(\d+)$/;

// The training artifacts under <dataDir>/runs/<key>/: TensorBoard event files and JSONL logs
// anywhere within MAX_DEPTH folders, and one trainer_state.json (the shallowest outside a
// checkpoint, else the highest checkpoint-N's). Symlinks are followed only while they stay
// inside the data dir. A missing folder lists nothing, silently.
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
  try {
    dataRoot = await fs.realpath(dataDir);
    await fs.stat(root);
  } catch (error) {
    if (!isMissing(error)) warnings.push(`runs/${key}: ${describeError(error)}`);
    return { root, files, warnings };
  }
  if (!(await isInside({ target: root, dataRoot }))) {
    warnings.push(`runs/${key}: resolves outside the data dir`);
    return { root, files, warnings };
  }

  const relative = (p: string) => path.relative(dataDir, p);
  const walk = async (dir: string, depth: number, checkpoint: number | null): Promise<void> => {
    let entries: Dirent[];
    try {
      entries = await fs.readdir(dir, { withFileTypes: true });
    } catch (error) {
      warnings.push(`${relative(dir)}: ${describeError(error)}`);
      return;
    }
    for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
      const full = path.join(dir, entry.name);
      let isDir = entry.isDirectory();
      let isFile = entry.isFile();
      if (entry.isSymbolicLink()) {
        const stat = (await isInside({ target: full, dataRoot })) ? await fs.stat(full).catch(() => null) : null;
        if (!stat) {
          warnings.push(`${relative(full)}: symlink leads outside the data dir or nowhere; not followed`);
          continue;
        }
        isDir = stat.isDirectory();
        isFile = stat.isFile();
      }
      if (isDir && depth < MAX_DEPTH) {
        const match = CHECKPOINT_DIR.exec(entry.name);
        await walk(full, depth + 1, match ? Number(match[1]) : checkpoint);
      } else if (isFile) {
        if (entry.name.startsWith("events.out.tfevents.")) {
          files.push({ path: full, relative_path: relative(full), kind: "events" });
        } else if (entry.name.endsWith(".jsonl")) {
          files.push({ path: full, relative_path: relative(full), kind: "jsonl" });
        } else if (entry.name === "trainer_state.json") {
          trainerStates.push({ path: full, depth, checkpoint });
        }
      }
    }
  };
  await walk(root, 0, null);

  const outside = trainerStates.filter((s) => s.checkpoint === null).sort((a, b) => a.depth - b.depth);
  const inCheckpoints = trainerStates.filter((s) => s.checkpoint !== null).sort((a, b) => (b.checkpoint ?? 0) - (a.checkpoint ?? 0));
  const best = outside[0] ?? inCheckpoints[0];
  if (best) files.push({ path: best.path, relative_path: relative(best.path), kind: "trainer_state" });
  return { root, files, warnings };
}

async function isInside({ target, dataRoot }: { target: string; dataRoot: string }): Promise<boolean> {
  const real = await fs.realpath(target).catch(() => null);
  return real !== null && (real === dataRoot || real.startsWith(dataRoot + path.sep));
}

// The names under runs/, listed once per request so models without a run folder cost nothing.
export async function listRunFolders({ dataDir }: { dataDir: string }): Promise<Set<string>> {
  return new Set(await fs.readdir(path.join(/*turbopackIgnore: true*/ dataDir, "runs")).catch(() => []));
}
