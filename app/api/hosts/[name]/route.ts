import { z } from "zod";
import { route } from "@/lib/api/route";
import { ApiError } from "@/lib/errors";
import { listHosts } from "@/lib/hosts/fleet";
import { getState } from "@/lib/state/live-state";

// GET /api/hosts/{name} - one host; 404 for a name the config does not list
export const GET = route<{ name: string }>(async ({ params }) => {
  const name = z.string().parse(params.name);
  const host = listHosts({ snapshot: await getState() }).find((h) => h.name === name);
  if (!host) throw new ApiError("not_found", `No host named ${JSON.stringify(name.slice(0, 64))}`);
  return Response.json(host);
});
