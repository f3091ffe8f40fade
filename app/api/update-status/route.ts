import { readJsonBody, route } from "@/lib/api/route";
import { updateStatusBodySchema } from "@/lib/schemas/api";
import { updateStatus } from "@/lib/status";

// POST /api/update-status - appends a model's status and progress to its history (admin token)
export const POST = route(
  async ({ req }) => {
    const body = await readJsonBody(req, updateStatusBodySchema);
    return Response.json(await updateStatus({ ...body, source: "api" }));
  },
  { access: "write" },
);
