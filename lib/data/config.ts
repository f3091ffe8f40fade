import "server-only";
import path from "node:path";
import { z } from "zod";
import type { Channel } from "@/lib/alerts/types";
import {
  alertChannelSchema,
  alertRuleSchema,
  type AlertRule,
  dcgmExporterUrl,
  hostConfigSchema,
  LOCAL_HOST,
  modelConfigSchema,
  sessionConfigSchema,
  type AfsConfig,
  type HostConfig,
  type ModelConfig,
} from "@/lib/schemas/config";
import { getEnv } from "@/lib/env";
import { appendAll, describeError, firstProblems, formatZodIssues, isMissing } from "@/lib/errors";
import { readCached } from "./file-cache";
import { duplicateKeys, parseJsonSliced } from "./json";

export const CONFIG_FILE = "afs.config.json";

const EMPTY_CONFIG: AfsConfig = { session: sessionConfigSchema.parse({}), hosts: [], models: [], alerts: { channels: [], rules: [] } };

// More hosts than one dashboard process is meant to hold connections to.
const MAX_HOSTS = 256;

// The last config read from valid JSON, per data dir: a file broken while being edited keeps the
// dashboard on what it last knew, with a warning, instead of emptying it.
const lastGood = new Map<string, AfsConfig>();

type LoadedConfig = { config: AfsConfig; modifiedAt: string | null; warnings: string[] };
type Parsed = { ok: true; modifiedAt: string; config: AfsConfig; problems: string[] } | { ok: false; modifiedAt: string; problems: string[] };

export async function loadConfig({ dataDir }: { dataDir: string }): Promise<LoadedConfig> {
  const file = path.join(dataDir, CONFIG_FILE);
  try {
    const parsed = await readCached<Parsed>({ path: file, loader: "config", root: dataDir }, async (text, stat) => {
      const modifiedAt = stat.mtime.toISOString();
      const json = await parseJsonSliced({ text });
      if (!json.ok) return { ok: false, modifiedAt, problems: [`invalid JSON (${json.error})`] };
      return { ok: true, modifiedAt, ...parseConfig(json.value, { duplicatesOf: (o) => duplicateKeys(json, o), maxModels: getEnv().limits.models }) };
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

// A config parsed field by field: an invalid field (a duplicated one included) falls back to its
// default and is reported, so one typo never hides the session or the other models. Only a
// model whose key or name is unusable is left out, since nothing could identify it, and models
// past `maxModels`, which no page could show.
export function parseConfig(
  json: unknown,
  { duplicatesOf, maxModels }: { duplicatesOf: (object: unknown) => string[]; maxModels: number },
): { config: AfsConfig; problems: string[] } {
  const problems: string[] = [];
  if (!isObject(json)) {
    return { config: EMPTY_CONFIG, problems: ["expected an object with \"session\" and \"models\""] };
  }
  const duplicated = duplicatesOf(json);
  for (const key of Object.keys(json)) {
    if (duplicated.includes(key)) problems.push(`${key}: duplicate key (ignored)`);
    else if (!["session", "hosts", "models", "alerts"].includes(key)) problems.push(`${shortName(key)}: unknown field (ignored)`);
  }
  const sessionValue = duplicated.includes("session") ? {} : (json.session ?? {});
  if (!isObject(sessionValue)) problems.push("session: expected an object (using the defaults)");
  const session = parseLeniently({
    schema: sessionConfigSchema,
    value: isObject(sessionValue) ? sessionValue : {},
    duplicates: duplicatesOf(sessionValue),
  });
  appendAll(problems, session.errors.map((e) => `session.${e} (using the default)`));

  const hosts = parseHosts({ value: duplicated.includes("hosts") ? [] : (json.hosts ?? []), duplicatesOf, problems });

  const models: ModelConfig[] = [];
  const entries = duplicated.includes("models") ? [] : (json.models ?? []);
  if (!Array.isArray(entries)) problems.push("models: expected an array");
  const listed = Array.isArray(entries) ? entries : [];
  if (listed.length > maxModels) {
    problems.push(`models: ${listed.length} models; only the first ${maxModels} are shown (AFS_MAX_MODELS)`);
  }
  listed.slice(0, maxModels).forEach((value, i) => {
    const where = `models[${i}]`;
    if (!isObject(value)) {
      problems.push(`${where}: expected an object (model not shown)`);
      return;
    }
    const parsed = parseLeniently({ schema: modelConfigSchema, value, duplicates: duplicatesOf(value), required: ["key", "name"] });
    if (!parsed.data) {
      appendAll(problems, parsed.errors.map((e) => `${where}.${e} (model not shown)`));
      return;
    }
    const model = parsed.data;
    if (models.some((m) => m.key === model.key)) {
      problems.push(`${where}.key: duplicate key "${model.key}" (model not shown)`);
      return;
    }
    appendAll(problems, parsed.errors.map((e) => `${where}.${e} (using the default)`));
    if (model.host !== LOCAL_HOST && !hosts.some((h) => h.name === model.host)) {
      problems.push(`${where}.host: no host "${model.host}" in hosts (read as ${LOCAL_HOST})`);
      model.host = LOCAL_HOST;
    }
    // A model on a rented host costs what the host does unless it says otherwise.
    const rate = model.cost_per_hour ?? hosts.find((h) => h.name === model.host)?.cost_per_hour ?? session.data!.default_cost_per_hour;
    if (rate === undefined) problems.push(`${where} (${model.key}): no cost_per_hour and no session.default_cost_per_hour; its cost counts as 0`);
    models.push({ ...model, cost_per_hour: rate ?? 0, config_errors: parsed.errors });
  });
  const alerts = parseAlerts({ value: duplicated.includes("alerts") ? {} : (json.alerts ?? {}), problems });
  return { config: { session: session.data!, hosts, models, alerts }, problems: firstProblems(problems) };
}

// `alerts`: a channel or rule that is not right as a whole is left out and named, so the others
// run. A channel's URL comes from the environment variable it names; it is never quoted (it holds
// the webhook's secret).
function parseAlerts({ value, problems }: { value: unknown; problems: string[] }): AfsConfig["alerts"] {
  if (!isObject(value)) {
    problems.push("alerts: expected an object with channels and rules");
    return EMPTY_CONFIG.alerts;
  }
  const channels: Channel[] = [];
  listOf({ value: value.channels, where: "alerts.channels", problems }).forEach((entry, i) => {
    const where = `alerts.channels[${i}]`;
    const parsed = alertChannelSchema.safeParse(entry);
    if (!parsed.success) return void appendAll(problems, formatZodIssues(parsed.error).map((e) => `${where}.${e} (channel not used)`));
    const c = parsed.data;
    const named = `${where} (${c.name})`;
    if (channels.some((x) => x.name === c.name)) return void problems.push(`${where}.name: duplicate name "${c.name}" (channel not used)`);
    if (c.type === "email") {
      if (!c.to) return void problems.push(`${named}: an email channel needs "to" (channel not used)`);
      return void channels.push({ name: c.name, type: c.type, url: null, to: c.to });
    }
    if (!c.url_env) return void problems.push(`${named}: a ${c.type} channel needs "url_env" (channel not used)`);
    const url = process.env[c.url_env];
    if (!url) return void problems.push(`${named}: ${c.url_env} is not set (channel not used)`);
    if (!URL.canParse(url) || !/^https?:$/.test(new URL(url).protocol)) return void problems.push(`${named}: ${c.url_env} is not an http(s) URL (channel not used)`);
    channels.push({ name: c.name, type: c.type, url, to: [] });
  });
  const rules: AlertRule[] = [];
  listOf({ value: value.rules, where: "alerts.rules", problems }).forEach((entry, i) => {
    const where = `alerts.rules[${i}]`;
    const parsed = alertRuleSchema.safeParse(entry);
    if (!parsed.success) return void appendAll(problems, formatZodIssues(parsed.error).map((e) => `${where}.${e} (rule not used)`));
    const rule = parsed.data;
    const named = `${where} (${rule.name})`;
    if (rules.some((r) => r.name === rule.name)) return void problems.push(`${where}.name: duplicate name "${rule.name}" (rule not used)`);
    if (rule.when === "budget_spent" && rule.threshold_percent === undefined) return void problems.push(`${named}: budget_spent needs threshold_percent (rule not used)`);
    if (rule.when === "gpu_temperature" && rule.above_c === undefined) return void problems.push(`${named}: gpu_temperature needs above_c (rule not used)`);
    const unknown = rule.channels.filter((name) => !channels.some((c) => c.name === name));
    if (unknown.length) problems.push(`${named}: no channel ${unknown.map((n) => `"${n}"`).join(", ")} (not sent there)`);
    const known = rule.channels.filter((name) => !unknown.includes(name));
    if (!known.length) return void problems.push(`${named}: no usable channel (rule not used)`);
    rules.push({ ...rule, channels: known });
  });
  return { channels, rules };
}

function listOf({ value, where, problems }: { value: unknown; where: string; problems: string[] }): unknown[] {
  if (value === undefined) return [];
  if (Array.isArray(value)) return value;
  problems.push(`${where}: expected an array`);
  return [];
}

// The `hosts` list, leniently like models: a bad optional field falls back to its default; an
// entry with no usable name, or no usable way to read it (ssh or gpu), is left out and named, so
// the other hosts still run.
function parseHosts({ value, duplicatesOf, problems }: { value: unknown; duplicatesOf: (object: unknown) => string[]; problems: string[] }): HostConfig[] {
  if (!Array.isArray(value)) {
    problems.push("hosts: expected an array");
    return [];
  }
  if (value.length > MAX_HOSTS) problems.push(`hosts: ${value.length} hosts; only the first ${MAX_HOSTS} are read`);
  const hosts: HostConfig[] = [];
  value.slice(0, MAX_HOSTS).forEach((entry, i) => {
    const where = `hosts[${i}]`;
    if (!isObject(entry)) {
      problems.push(`${where}: expected an object (host not used)`);
      return;
    }
    const parsed = parseLeniently({ schema: hostConfigSchema, value: entry, duplicates: duplicatesOf(entry), required: ["name", "ssh", "gpu"] });
    if (!parsed.data) {
      appendAll(problems, parsed.errors.map((e) => `${where}.${e} (host not used)`));
      return;
    }
    const host = parsed.data;
    const named = `${where} (${host.name})`;
    if (hosts.some((h) => h.name === host.name)) {
      problems.push(`${where}.name: duplicate name "${host.name}" (host not used)`);
      return;
    }
    if ((host.ssh === undefined) === (host.gpu === undefined)) {
      problems.push(`${named}: needs exactly one of ssh and gpu (host not used)`);
      return;
    }
    appendAll(problems, parsed.errors.map((e) => `${where}.${e} (using the default)`));
    const errors = [...parsed.errors];
    // runs and nvidia_smi are read over SSH; a dcgm-exporter host has no shell to read them with.
    for (const field of ["runs", "nvidia_smi"] as const) {
      if (host.gpu !== undefined && field in entry && !errors.some((e) => e.startsWith(`${field}:`))) {
        const why = `${field}: only read over ssh`;
        problems.push(`${where}.${why} (ignored)`);
        errors.push(why);
      }
    }
    hosts.push({
      ...host,
      runs: host.ssh !== undefined ? host.runs : undefined,
      source: host.ssh !== undefined ? "ssh" : "dcgm-exporter",
      dcgm_url: host.gpu === undefined ? null : dcgmExporterUrl({ gpu: host.gpu }),
      config_errors: errors,
    });
  });
  return hosts;
}

// Parses an object, dropping each field that fails or occurs twice (so its default applies) and
// naming it in `errors` ("field: why"). data is null when a `required` field is one that failed.
function parseLeniently<T>({
  schema,
  value,
  duplicates,
  required = [],
}: {
  schema: z.ZodType<T>;
  value: Record<string, unknown>;
  duplicates: string[];
  required?: string[];
}): { data: T | null; errors: string[] } {
  const first = schema.safeParse(value);
  if (first.success && !duplicates.length) return { data: first.data, errors: [] };
  const bad = new Set<string>(duplicates);
  const errors = duplicates.map((key) => `${shortName(key)}: duplicate key`);
  for (const issue of first.success ? [] : first.error.issues) {
    const fields = issue.code === "unrecognized_keys" ? issue.keys : issue.path.length ? [String(issue.path[0])] : [];
    fields.forEach((f) => bad.add(f));
    if (issue.code === "unrecognized_keys") appendAll(errors, issue.keys.map((k) => `${shortName(k)}: unknown field`));
    else appendAll(errors, formatZodIssues(new z.ZodError([issue])));
  }
  if (required.some((field) => bad.has(field))) return { data: null, errors };
  const kept = Object.fromEntries(Object.entries(value).filter(([k]) => !bad.has(k)));
  const second = schema.safeParse(kept);
  return second.success ? { data: second.data, errors } : { data: null, errors };
}

// A field name as a warning may quote it: a name can be as long as the file.
function shortName(key: string): string {
  return key.length > 64 ? `${key.slice(0, 64)}…` : key;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
