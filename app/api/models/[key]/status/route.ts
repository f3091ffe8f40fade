import { z } from "zod";
import { route } from "@/lib/api/route";
import { getModelStatus } from "@/lib/models";

// GET /api/models/{key}/status - one model's status, cost and data counts
export const GET = route<{ key: string }>(async ({ params }) => {
  const key = z.string().parse(params.key);
  return Response.json(await getModelStatus({ key }));
});
