import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import type { z } from "zod";
import { configSchema, type AfsConfig } from "@/lib/schemas/config";
import { describeError, isMissing, readCached } from "./file-cache";

export const CONFIG_FILE = "afs.config.json";

const EMPTY_CONFIG: AfsConfig = { session: { name: "AFS Training", currency: "USD" }, models: [] };

// The last valid config per data dir: a file broken while being edited keeps the dashboard on
// what it last knew, with a warning, instead of emptying it.
const lastGood = new Map<string, AfsConfig>();

export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.reduce<string>(
      (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
      "",
    );
    return where ? `${where}: ${issue.message}` : issue.message;
  });
}

type LoadedConfig = { config: AfsConfig; modifiedAt: string | null; warnings: string[] };

export async function loadConfig({ dataDir }: { dataDir: string }): Promise<LoadedConfig> {
  const file = path.join(dataDir, CONFIG_FILE);
  try {
    const parsed = await readCached({ path: file, loader: "config" }, async (stat) => {
      const modifiedAt = stat.mtime.toISOString();
      const text = (await fs.readFile(file, "utf8")).replace(/^\uFEFF/, "");
      let json: unknown;
      try {
        json = JSON.parse(text);
      } catch (error) {
        return { ok: false as const, modifiedAt, problems: [`invalid JSON (${describeError(error)})`] };
      }
      const result = configSchema.safeParse(json);
      return result.success
        ? { ok: true as const, modifiedAt, config: result.data }
        : { ok: false as const, modifiedAt, problems: formatZodIssues(result.error) };
    });
    if (parsed.ok) {
      lastGood.set(dataDir, parsed.config);
      return { config: parsed.config, modifiedAt: parsed.modifiedAt, warnings: [] };
    }
    const fallback = lastGood.get(dataDir);
    const tail = fallback ? " (showing the last valid version)" : "";
    return {
      config: fallback ?? EMPTY_CONFIG,
      modifiedAt: parsed.modifiedAt,
      warnings: parsed.problems.map((p) => `${CONFIG_FILE}: ${p}${tail}`),
    };
  } catch (error) {
    const why = isMissing(error) ? "not found" : describeError(error);
    return { config: lastGood.get(dataDir) ?? EMPTY_CONFIG, modifiedAt: null, warnings: [`${CONFIG_FILE}: ${why}`] };
  }
}
