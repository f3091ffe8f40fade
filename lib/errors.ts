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

// Failures that mean "the store cannot take this now", answered with a clear 503 while nothing
// already stored is touched. SQLite: disk full, read-only, I/O. PostgreSQL (SQLSTATE classes):
// connection exceptions (08), insufficient resources (53), operator intervention (57: shutdown,
// starting up, statement timeout), rejected sign-in (28), a database that is gone (3D000); and
// the network errors and pg's own messages for a server that does not answer.
const SQLITE_UNAVAILABLE = /^SQLITE_(FULL|READONLY|IOERR|CANTOPEN|BUSY|LOCKED)/;
const POSTGRES_UNAVAILABLE = /^(08...|53...|57...|28...|3D000)$/;
const NETWORK_ERRORS = /^(ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENETUNREACH|ENOTFOUND|EAI_AGAIN|EPIPE)$/;
const POSTGRES_CLIENT_ERRORS = /Connection terminated|timeout exceeded when trying to connect|not queryable|Connection ended/;

export function storeFailure(error: unknown): ApiError | null {
  const code = errorCode(error);
  if (SQLITE_UNAVAILABLE.test(code)) return new ApiError("store_unavailable", `The store cannot be written (${code}); reads still work`);
  if (POSTGRES_UNAVAILABLE.test(code) || NETWORK_ERRORS.test(code) || (error instanceof Error && POSTGRES_CLIENT_ERRORS.test(error.message))) {
    return new ApiError("store_unavailable", `The store does not answer: ${describeError(error)}`);
  }
  return null;
}

// The above, or a store that cannot serve at all: a SQLite file that is corrupt or no database,
// a schema newer than this version knows.
export function storeUnavailable(error: unknown): ApiError | null {
  const failure = storeFailure(error);
  if (failure) return failure;
  const code = errorCode(error);
  if (!code.startsWith("SQLITE_") && code !== "AFS_SCHEMA_NEWER") return null;
  return new ApiError("store_unavailable", `The store cannot be used (${code === "AFS_SCHEMA_NEWER" ? describeError(error) : code})`);
}

function errorCode(error: unknown): string {
  const code = (error as { code?: unknown })?.code ?? (error instanceof AggregateError ? (error.errors[0] as { code?: unknown })?.code : undefined);
  return typeof code === "string" ? code : "";
}

export function errorResponse(error: unknown): Response {
  const store = storeUnavailable(error);
  if (store) {
    console.error(`[afs] ${store.message}`);
    return Response.json({ error: store.code, details: store.message }, { status: store.status });
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
  // A connection tried on several addresses fails with each one's error and no message of its own.
  if (error instanceof AggregateError && !error.message) return error.errors.map(describeError).join("; ");
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
