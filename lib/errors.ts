export type ErrorCode =
  | "bad_request"
  | "unauthorized"
  | "not_found"
  | "method_not_allowed"
  | "payload_too_large"
  | "unsupported_media_type"
  | "range_not_satisfiable"
  | "internal";

const statusByCode: Record<ErrorCode, number> = {
  bad_request: 400,
  unauthorized: 401,
  not_found: 404,
  method_not_allowed: 405,
  payload_too_large: 413,
  unsupported_media_type: 415,
  range_not_satisfiable: 416,
  internal: 500,
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

export function errorResponse(error: unknown): Response {
  if (error instanceof ApiError) {
    const body = error.details === undefined ? { error: error.message } : { error: error.message, details: error.details };
    return Response.json(body, { status: error.status, headers: error.headers });
  }
  // The detail goes to the server log only: clients never see internals or stack traces.
  console.error(error);
  return Response.json({ error: "Internal server error" }, { status: 500 });
}
