import "server-only";
import fs from "node:fs";
import { Readable } from "node:stream";
import { parseByteRange } from "@/lib/data/artifacts";
import { ApiError } from "@/lib/errors";
import { getArtifactFile } from "@/lib/registry";

const RESTORED_LENGTH_HEADER = "x-afs-content-length";

export async function serveArtifact({ key, name, range }: { key: string; name: string; range: string | null }): Promise<Response> {
  const file = await getArtifactFile({ key, name });
  const size = file.sizeBytes;
  const headers: Record<string, string> = {
    "Content-Type": "application/octet-stream",
    "Content-Disposition": `attachment; filename*=UTF-8''${encodeURIComponent(file.name)}`,
    "Accept-Ranges": "bytes",
  };
  const byteRange = parseByteRange(range, size);
  if (byteRange === "unsatisfiable") {
    throw new ApiError("range_not_satisfiable", "Range not satisfiable", undefined, { "Content-Range": `bytes */${size}` });
  }
  const { start, end } = byteRange ?? { start: 0, end: size - 1 };
  const length = Math.max(0, end - start + 1);
  const body = length === 0 ? null : (Readable.toWeb(fs.createReadStream(file.path, { start, end })) as ReadableStream<Uint8Array>);
  headers["Content-Length"] = String(length);
  // Next's server drops Content-Length from route-handler answers; scripts/serve.mjs restores
  // it from this header so clients see the size (progress bars, resumable downloads).
  headers[RESTORED_LENGTH_HEADER] = String(length);
  if (byteRange) headers["Content-Range"] = `bytes ${start}-${end}/${size}`;
  return new Response(body, { status: byteRange ? 206 : 200, headers });
}
