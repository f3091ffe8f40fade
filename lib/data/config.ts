import "server-only";
import fs from "node:fs/promises";
import path from "node:path";
import { z } from "zod";
import { modelConfigSchema, sessionConfigSchema, type AfsConfig, type ModelConfig } from "@/lib/schemas/config";
import { describeError, describeJsonError, formatZodIssues, isMissing } from "@/lib/errors";
import { readCached } from "./file-cache";

export const CONFIG_FILE = "afs.config.json";

const EMPTY_CONFIG: AfsConfig = { session: sessionConfigSchema.parse({}), models: [] };

// The last config read from valid JSON, per data dir: a file broken while being edited keeps the
// dashboard on what it last knew, with a warning, instead of emptying it.
const lastGood = new Map<string, AfsConfig>();

type LoadedConfig = { config: AfsConfig; modifiedAt: string | null; warnings: string[] };
type Parsed = { ok: true; modifiedAt: string; config: AfsConfig; problems: string[] } | { ok: false; modifiedAt: string; problems: string[] };

export async function loadConfig({ dataDir }: { dataDir: string }): Promise<LoadedConfig> {
  const file = path.join(dataDir, CONFIG_FILE);
  try {
    const parsed = await readCached<Parsed>({ path: file, loader: "config", root: dataDir }, async (stat) => {
      const modifiedAt = stat.mtime.toISOString();
      const text = (await fs.readFile(file, "utf8")).replace(/^\uFEFF/, "");
      try {
        return { ok: true, modifiedAt, ...parseConfig(JSON.parse(text)) };
      } catch (error) {
        return { ok: false, modifiedAt, problems: [`invalid JSON (${describeJsonError({ error, text })})`] };
      }
    });
    if (parsed.ok) {
      lastGood.set(dataDir, parsed.config);
      return { config: parsed.config, modifiedAt: parsed.modifiedAt, warnings: parsed.problems.map((p) => `${CONFIG_FILE}: ${p}`) };
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

// A config parsed field by field: an invalid field falls back to its default and is reported,
// so one typo never hides the session or the other models. Only a model whose key or name is
// unusable is left out, since nothing could identify it.
export function parseConfig(json: unknown): { config: AfsConfig; problems: string[] } {
  const problems: string[] = [];
  if (!isObject(json)) {
    return { config: EMPTY_CONFIG, problems: ["expected an object with \"session\" and \"models\""] };
  }
  for (const key of Object.keys(json)) {
    if (key !== "session" && key !== "models") problems.push(`${key}: unknown field (ignored)`);
  }
  const sessionValue = json.session ?? {};
  if (!isObject(sessionValue)) problems.push("session: expected an object (using the defaults)");
  const session = parseLeniently({ schema: sessionConfigSchema, value: isObject(sessionValue) ? sessionValue : {} });
  problems.push(...session.errors.map((e) => `session.${e} (using the default)`));

  const models: ModelConfig[] = [];
  const entries = json.models ?? [];
  if (!Array.isArray(entries)) problems.push("models: expected an array");
  (Array.isArray(entries) ? entries : []).forEach((value, i) => {
    const where = `models[${i}]`;
    if (!isObject(value)) {
      problems.push(`${where}: expected an object (model not shown)`);
      return;
    }
    const parsed = parseLeniently({ schema: modelConfigSchema, value, required: ["key", "name"] });
    if (!parsed.data) {
      problems.push(...parsed.errors.map((e) => `${where}.${e} (model not shown)`));
      return;
    }
    const model = parsed.data;
    if (models.some((m) => m.key === model.key)) {
      problems.push(`${where}.key: duplicate key "${model.key}" (model not shown)`);
      return;
    }
    problems.push(...parsed.errors.map((e) => `${where}.${e} (using the default)`));
    const rate = model.cost_per_hour ?? session.data!.default_cost_per_hour;
    if (rate === undefined) problems.push(`${where} (${model.key}): no cost_per_hour and no session.default_cost_per_hour; its cost counts as 0`);
    models.push({ ...model, cost_per_hour: rate ?? 0, config_errors: parsed.errors });
  });
  return { config: { session: session.data!, models }, problems };
}

// Parses an object, dropping each field that fails (so its default applies) and naming it in
// `errors` ("field: why"). data is null when a `required` field is one that failed.
function parseLeniently<T>({
  schema,
  value,
  required = [],
}: {
  schema: z.ZodType<T>;
  value: Record<string, unknown>;
  required?: string[];
}): { data: T | null; errors: string[] } {
  const first = schema.safeParse(value);
  if (first.success) return { data: first.data, errors: [] };
  const bad = new Set<string>();
  const errors: string[] = [];
  for (const issue of first.error.issues) {
    const fields = issue.code === "unrecognized_keys" ? issue.keys : issue.path.length ? [String(issue.path[0])] : [];
    fields.forEach((f) => bad.add(f));
    if (issue.code === "unrecognized_keys") errors.push(...issue.keys.map((k) => `${k}: unknown field`));
    else errors.push(...formatZodIssues(new z.ZodError([issue])));
  }
  if (required.some((field) => bad.has(field))) return { data: null, errors };
  const kept = Object.fromEntries(Object.entries(value).filter(([k]) => !bad.has(k)));
  const second = schema.safeParse(kept);
  return second.success ? { data: second.data, errors } : { data: null, errors };
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
