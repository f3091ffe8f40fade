import "server-only";
import { createHash } from "node:crypto";

type Body = { text: string; etag: string };

// Answers built once per version of what they show: `version` is the object they are built from
// (a state snapshot), and the body and its strong ETag live as long as it does. A request whose
// If-None-Match holds the ETag gets 304 and no body.
const bodies = new WeakMap<object, Map<string, Body>>();
// Keys per version (queries differ by model, points, tag): past this, answers are built uncached.
const MAX_KEYS = 200;

export function prepared(
  req: Request,
  {
    version,
    key,
    build,
    type = "application/json",
    headers = {},
  }: { version: object; key: string; build: () => unknown; type?: string; headers?: Record<string, string> },
): Response {
  let forVersion = bodies.get(version);
  if (!forVersion) bodies.set(version, (forVersion = new Map()));
  let body = forVersion.get(key);
  if (!body) {
    const built = build();
    const text = typeof built === "string" ? built : JSON.stringify(built);
    body = { text, etag: `"${createHash("sha1").update(text).digest("base64url")}"` };
    if (forVersion.size < MAX_KEYS) forVersion.set(key, body);
  }
  const match = req.headers.get("if-none-match");
  if (match && (match.trim() === "*" || match.split(",").some((tag) => tag.trim().replace(/^W\//, "") === body.etag))) {
    return new Response(null, { status: 304, headers: { ETag: body.etag, ...headers } });
  }
  return new Response(body.text, { headers: { "Content-Type": type, ETag: body.etag, ...headers } });
}
