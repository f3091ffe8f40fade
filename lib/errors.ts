import type { z } from "zod";

export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "forbidden"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "range_not_satisfiable"
  | "too_many_requests"
  | "internal"
  | "store_unavailable"
  | "service_unavailable";

const statusByCode: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  forbidden: 403,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  too_many_requests: 429,
  internal: 500,
  store_unavailable: 503,
  service_unavailable: 503,
};

export class ApiError extends Error {
  readonly status: number;
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly details?: unknown,
    readonly headers?: Record<string, string>,
  ) {
    super(message);
    this.status = statusByCode[code];
  }
}

// SQLite failures that mean "the store cannot take writes now" (disk full, read-only, I/O):
// the client gets a clear 503, and nothing already stored is touched.
const STORE_WRITE_FAILURES = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED)/;

export function storeFailure(error: unknown): ApiError | null {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !STORE_WRITE_FAILURES.test(code)) return null;
  return new ApiError("store_unavailable", `The store cannot be written (${code}); reads still work`);
}

// Any other SQLite failure (a corrupt file, one that is no database): the store cannot serve.
function storeBroken(error: unknown): ApiError | null {
  const code = (error as { code?: unknown })?.code;
  if (typeof code !== "string" || !code.startsWith("SQLITE_")) return null;
  return new ApiError("store_unavailable", `The store cannot be used (${code})`);
}

export function errorResponse(error: unknown): Response {
  const store = storeFailure(error) ?? storeBroken(error);
  if (store) {
    console.error(error);
    error = store;
  }
  if (error instanceof ApiError) {
    const body = error.details === undefined ? { error: error.message } : { error: error.message, details: error.details };
    return Response.json(body, { status: error.status, headers: error.headers });
  }
  // The detail goes to the server log only: clients never see internals or stack traces.
  console.error(error);
  return Response.json({ error: "Internal server error" }, { status: 500 });
}

// zod's issues as "path: message" lines, for answers and warnings.
export function formatZodIssues(error: z.ZodError): string[] {
  return error.issues.map((issue) => {
    const where = issue.path.reduce<string>(
      (acc, part) => (typeof part === "number" ? `${acc}[${part}]` : acc ? `${acc}.${String(part)}` : String(part)),
      "",
    );
    return where ? `${where}: ${issue.message}` : issue.message;
  });
}

export function isMissing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException)?.code;
  return code === "ENOENT" || code === "ENOTDIR";
}

export function describeError(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}

// One file's first problems, then how many more: a broken file must not flood every answer.
export function firstProblems(problems: string[], max = 20): string[] {
  return problems.length <= max ? problems : [...problems.slice(0, max), `and ${problems.length - max} more problem(s)`];
}

// Appends one by one: push(...items) with a data-sized array overflows the stack.
export function appendAll<T>(target: T[], items: Iterable<T>): void {
  for (const item of items) target.push(item);
}
