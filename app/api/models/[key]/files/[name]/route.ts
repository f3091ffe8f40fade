import { z } from "zod";
import { route } from "@/lib/api/route";
import { serveArtifact } from "@/lib/downloads";

// GET /api/models/{key}/files/{name} - streams one listed artifact file, with Range support
export const GET = route<{ key: string; name: string }>(async ({ req, params }) => {
  const { key, name } = z.object({ key: z.string(), name: z.string() }).parse(params);
  return serveArtifact({ key, name, range: req.headers.get("range") });
});
