import "server-only";
import { z } from "zod";
import { requireAccess } from "@/lib/auth";
import { ApiError, errorResponse, formatZodIssues } from "@/lib/errors";

export const MAX_BODY_BYTES = 64 * 1024;

type Params = Record<string, string | string[] | undefined>;
type Handler<P extends Params> = (ctx: { req: Request; params: P }) => Promise<Response>;

// The one wrapper every route handler goes through: access (reads by default; writes need the
// admin token), error mapping, no-store caching.
export function route<P extends Params = Params>(handler: Handler<P>, options: { access?: "read" | "write" | "public" } = {}) {
  return async (req: Request, ctx: { params: Promise<P> }): Promise<Response> => {
    let res: Response;
    try {
      requireAccess(req, options.access ?? "read");
      res = await handler({ req, params: await ctx.params });
    } catch (error) {
      res = errorResponse(error instanceof z.ZodError ? badRequest(error) : error);
    }
    if (!res.headers.has("Cache-Control")) res.headers.set("Cache-Control", "no-store");
    return res;
  };
}

function badRequest(error: z.ZodError): ApiError {
  return new ApiError("bad_request", "Invalid request", formatZodIssues(error));
}

// Reads a JSON body of at most 64 KiB, refusing oversize bodies before parsing: by
// Content-Length when sent, and by counting bytes as they stream for chunked bodies.
export async function readJsonBody<S extends z.ZodType>(req: Request, schema: S): Promise<z.infer<S>> {
  const type = req.headers.get("content-type") ?? "";
  if (!/^application\/json\s*(;|$)/i.test(type)) {
    throw new ApiError("unsupported_media_type", "Content-Type must be application/json");
  }
  const declared = Number(req.headers.get("content-length"));
  if (declared > MAX_BODY_BYTES) throw tooLarge();
  const chunks: Uint8Array[] = [];
  let size = 0;
  if (req.body) {
    for await (const chunk of req.body as unknown as AsyncIterable<Uint8Array>) {
      size += chunk.byteLength;
      if (size > MAX_BODY_BYTES) throw tooLarge();
      chunks.push(chunk);
    }
  }
  let json: unknown;
  try {
    json = JSON.parse(Buffer.concat(chunks).toString("utf8"));
  } catch {
    throw new ApiError("bad_request", "Body is not valid JSON");
  }
  return schema.parse(json);
}

function tooLarge(): ApiError {
  return new ApiError("payload_too_large", `Body exceeds ${MAX_BODY_BYTES} bytes`);
}

export function parseQuery<S extends z.ZodType>(req: Request, schema: S): z.infer<S> {
  return schema.parse(Object.fromEntries(new URL(req.url).searchParams));
}
