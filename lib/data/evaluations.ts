import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { evaluationSchema, type Evaluation } from "@/lib/schemas/config";
import { describeError, describeJsonError, formatZodIssues } from "@/lib/errors";
import { readCached } from "./file-cache";

type FileResult = { evaluations: Evaluation[]; problems: string[] };

async function readEvaluationFile({ file, dataDir }: { file: string; dataDir: string }): Promise<FileResult> {
  return readCached({ path: file, loader: "evaluation", root: dataDir }, async () => {
    const text = (await fs.readFile(file, "utf8")).replace(/^\uFEFF/, "");
    let json: unknown;
    try {
      json = JSON.parse(text);
    } catch (error) {
      return { evaluations: [], problems: [`invalid JSON (${describeJsonError({ error, text })})`] };
    }
    // A file holds one result, or an array of them.
    const items = Array.isArray(json) ? json : [json];
    const result: FileResult = { evaluations: [], problems: [] };
    items.forEach((item, i) => {
      const parsed = evaluationSchema.safeParse(item);
      if (parsed.success) result.evaluations.push(parsed.data);
      else {
        const prefix = Array.isArray(json) ? `[${i}] ` : "";
        result.problems.push(...formatZodIssues(parsed.error).map((p) => prefix + p));
      }
    });
    return result;
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
  const evaluations: Evaluation[] = [];
  const warnings: string[] = [];
  for (const name of names) {
    try {
      const result = await readEvaluationFile({ file: path.join(dir, name), dataDir });
      for (const evaluation of result.evaluations) evaluations.push(evaluation);
      warnings.push(...result.problems.map((p) => `evaluations/${name}: ${p}`));
    } catch (error) {
      warnings.push(`evaluations/${name}: ${describeError(error)}`);
    }
  }
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
