import "server-only";
import { z } from "zod";
import { describeFetchError, parseRetryAfter, readCapped } from "@/lib/http";

// One instance as vast.ai's list answers it, in vast-cli's field names. Money is $/hour:
// dph_total while the instance runs, storage_total_cost for its disk (billed stopped too).
// start_date is unix seconds. Everything but id may be null: vast sends null for, say,
// the label of an unlabelled instance or gpu_util of a stopped one.
export const vastInstanceSchema = z.object({
  id: z.number().int().positive(),
  label: z.string().nullable(),
  actual_status: z.string().nullable(),
  intended_status: z.string().nullable(),
  cur_state: z.string().nullable(),
  dph_total: z.number().nonnegative().nullable(),
  storage_total_cost: z.number().nonnegative().nullable(),
  start_date: z.number().nullable(),
  num_gpus: z.number().int().nonnegative().nullable(),
  gpu_name: z.string().nullable(),
  gpu_util: z.number().nullable(),
  ssh_host: z.string().nullable(),
  ssh_port: z.number().int().nullable(),
});
export type VastInstance = z.infer<typeof vastInstanceSchema>;

type Field = Exclude<keyof VastInstance, "id">;
const FIELDS = Object.keys(vastInstanceSchema.shape).filter((key) => key !== "id") as Field[];

const pageSchema = z.object({
  instances: z.array(z.unknown()),
  next_token: z.string().nullish(),
});

// server_error: vast answered 5xx; error: no usable answer (a timeout, a cut connection, not
// JSON, another HTTP status).
export type FailedState = "auth_failed" | "rate_limited" | "server_error" | "error";

export type ListInstancesResult =
  | { state: "ok"; instances: VastInstance[]; warnings: string[] }
  | { state: FailedState; reason: string; retry_after_ms?: number };

// vast's v1 list caps a page at 25 rows, the size vast-cli asks for.
const PAGE_SIZE = 25;
// 2,500 instances; a server that keeps handing out fresh tokens past that is looping.
const MAX_PAGES = 100;
// A full page is tens of KiB; the cap only stops a wrong URL from filling memory.
const MAX_ANSWER_BYTES = 16 * 1024 * 1024;

// Every instance of the account behind apiKey, the way `vastai show instances --raw` lists
// them: GET /api/v1/instances/ in id order, following next_token through after_token. An
// instance whose field is absent or mistyped keeps that field null, and one without a usable
// id is left out; both add a warning. Retrying is the caller's: a 429 or 5xx answer carries
// the server's Retry-After as retry_after_ms when it sent one. The key goes in the
// Authorization header only (vast-cli also puts it in the query string, where it would land
// in access logs), and no reason ever contains it.
export async function listInstances({
  url,
  apiKey,
  timeoutMs,
  fetch = globalThis.fetch,
}: {
  url: string;
  apiKey: string;
  timeoutMs: number;
  fetch?: typeof globalThis.fetch;
}): Promise<ListInstancesResult> {
  const endpoint = `${url.replace(/\/+$/, "")}/api/v1/instances/`;
  const instances: VastInstance[] = [];
  const warnings: string[] = [];
  const seenTokens = new Set<string>();
  let token: string | null = null;
  for (let page = 1; page <= MAX_PAGES; page++) {
    const query = new URLSearchParams({
      select_filters: "{}",
      order_by: JSON.stringify([{ col: "id", dir: "asc" }]),
      limit: String(PAGE_SIZE),
    });
    if (token !== null) query.set("after_token", token);
    const answer = await fetchPage({ url: `${endpoint}?${query}`, apiKey, timeoutMs, fetch });
    if (answer.state !== "ok") return { ...answer, reason: redact({ text: `page ${page}: ${answer.reason}`, apiKey }) };
    answer.page.instances.forEach((raw, index) => {
      const instance = parseVastInstance({ raw, where: `instance ${index + 1} of page ${page}`, warnings });
      if (instance) instances.push(instance);
    });
    token = answer.page.next_token || null;
    if (token === null) return { state: "ok", instances, warnings };
    if (seenTokens.has(token)) return { state: "error", reason: `page ${page}: the server repeated an earlier next_token` };
    seenTokens.add(token);
  }
  return { state: "error", reason: `still more pages after ${MAX_PAGES}; stopped` };
}

// One raw instance as a VastInstance, or null when it has no usable id. `where` names it in
// warnings until its id is known.
export function parseVastInstance({
  raw,
  where,
  warnings,
}: {
  raw: unknown;
  where: string;
  warnings: string[];
}): VastInstance | null {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    warnings.push(`${where} is not an object; left out`);
    return null;
  }
  const record = raw as Record<string, unknown>;
  const id = vastInstanceSchema.shape.id.safeParse(record.id);
  if (!id.success) {
    warnings.push(`${where} has no usable id (${describeValue(record.id)}); left out`);
    return null;
  }
  const instance: Record<string, unknown> = { id: id.data };
  for (const field of FIELDS) {
    if (!(field in record)) {
      warnings.push(`instance ${id.data}: ${field} is missing; left null`);
      instance[field] = null;
      continue;
    }
    const value = vastInstanceSchema.shape[field].safeParse(record[field]);
    if (!value.success) warnings.push(`instance ${id.data}: ${field} is unusable (${describeValue(record[field])}); left null`);
    instance[field] = value.success ? value.data : null;
  }
  // Every field is now set from its own schema (or null), so the whole is a VastInstance.
  return instance as VastInstance;
}

type PageAnswer =
  | { state: "ok"; page: z.infer<typeof pageSchema> }
  | { state: FailedState; reason: string; retry_after_ms?: number };

async function fetchPage({
  url,
  apiKey,
  timeoutMs,
  fetch,
}: {
  url: string;
  apiKey: string;
  timeoutMs: number;
  fetch: typeof globalThis.fetch;
}): Promise<PageAnswer> {
  let text: string;
  try {
    const res = await fetch(url, {
      signal: AbortSignal.timeout(timeoutMs),
      headers: { authorization: `Bearer ${apiKey}`, accept: "application/json" },
    });
    if (!res.ok) {
      res.body?.cancel().catch(() => {});
      return describeRefusal({ res });
    }
    text = await readCapped({ res, maxBytes: MAX_ANSWER_BYTES });
  } catch (err) {
    return { state: "error", reason: describeFetchError({ err, timeoutMs }) };
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    return { state: "error", reason: "the answer is not JSON" };
  }
  const page = pageSchema.safeParse(json);
  if (!page.success) return { state: "error", reason: "the answer has no instances list or a mistyped next_token" };
  return { state: "ok", page: page.data };
}

function describeRefusal({ res }: { res: Response }): PageAnswer {
  const status = res.status;
  if (status === 401 || status === 403) return { state: "auth_failed", reason: `HTTP ${status}: vast.ai refused the API key` };
  const retryAfterMs = status === 429 || status >= 500 ? parseRetryAfter({ value: res.headers.get("retry-after") }) : null;
  const retry = retryAfterMs === null ? {} : { retry_after_ms: retryAfterMs };
  if (status === 429) return { state: "rate_limited", reason: "HTTP 429: rate limited", ...retry };
  return { state: status >= 500 ? "server_error" : "error", reason: `HTTP ${status}`, ...retry };
}

function describeValue(value: unknown): string {
  if (value === undefined) return "missing";
  if (value === null) return "null";
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return Array.isArray(value) ? "an array" : `a ${typeof value}`;
}

// Belt and braces: nothing here quotes the key, but a reason must never carry it even if a
// lower layer (a fetch error's message) one day does.
function redact({ text, apiKey }: { text: string; apiKey: string }): string {
  return apiKey ? text.split(apiKey).join("[api key]") : text;
}
