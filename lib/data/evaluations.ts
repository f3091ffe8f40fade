import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { evaluationSchema, type Evaluation } from "@/lib/schemas/config";
import { appendAll, describeError, firstProblems, formatZodIssues } from "@/lib/errors";
import { mapInBatches } from "@/lib/slices";
import { readCached } from "./file-cache";
import { duplicateKeys, parseJsonSliced } from "./json";

type FileResult = { evaluations: Evaluation[]; problems: string[] };

const PARALLEL_READS = 32;

async function readEvaluationFile({ file, dataDir }: { file: string; dataDir: string }): Promise<FileResult> {
  return readCached({ path: file, loader: "evaluation", root: dataDir }, async (text) => {
    const json = await parseJsonSliced({ text });
    if (!json.ok) return { evaluations: [], problems: [`invalid JSON (${json.error})`] };
    // A file holds one result, or an array of them.
    const items = Array.isArray(json.value) ? json.value : [json.value];
    const result: FileResult = { evaluations: [], problems: [] };
    items.forEach((item, i) => {
      const prefix = Array.isArray(json.value) ? `[${i}] ` : "";
      // Which of two values was meant is unknowable, so the result is not used.
      if (duplicateKeys(json, item).length) {
        result.problems.push(`${prefix}duplicate key (result not used)`);
        return;
      }
      const parsed = evaluationSchema.safeParse(item);
      if (parsed.success) result.evaluations.push(parsed.data);
      else appendAll(result.problems, formatZodIssues(parsed.error).map((p) => prefix + p));
    });
    return { evaluations: result.evaluations, problems: firstProblems(result.problems) };
  });
}

export async function loadEvaluations({ dataDir }: { dataDir: string }): Promise<{ evaluations: Evaluation[]; warnings: string[] }> {
  const dir = path.join(dataDir, "evaluations");
  let names: string[];
  try {
    names = (await fs.readdir(dir)).filter((n) => n.endsWith(".json")).sort();
  } catch (error) {
    // No folder is fine (no evaluations yet); anything else, a file in its place included, is said.
    const missing = (error as NodeJS.ErrnoException).code === "ENOENT";
    return { evaluations: [], warnings: missing ? [] : [`evaluations/: ${describeError(error)}`] };
  }
  const results = await mapInBatches(names, PARALLEL_READS, (name) =>
    readEvaluationFile({ file: path.join(dir, name), dataDir }).catch((error: unknown) => ({ error })),
  );
  const evaluations: Evaluation[] = [];
  const warnings: string[] = [];
  results.forEach((result, i) => {
    if ("error" in result) {
      warnings.push(`evaluations/${names[i]}: ${describeError(result.error)}`);
      return;
    }
    appendAll(evaluations, result.evaluations);
    appendAll(warnings, result.problems.map((p) => `evaluations/${names[i]}: ${p}`));
  });
  return { evaluations, warnings };
}

// The newest result per model key, by evaluated_at.
export function latestEvaluations(evaluations: Evaluation[]): Map<string, Evaluation> {
  const latest = new Map<string, Evaluation>();
  for (const e of evaluations) {
    const seen = latest.get(e.model_key);
    if (!seen || Date.parse(e.evaluated_at) > Date.parse(seen.evaluated_at)) latest.set(e.model_key, e);
  }
  return latest;
}
