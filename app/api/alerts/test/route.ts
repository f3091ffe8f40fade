import { randomUUID } from "node:crypto";
import { readJsonBody, route } from "@/lib/api/route";
import { deliver } from "@/lib/alerts/channels";
import { getEnv } from "@/lib/env";
import { ApiError } from "@/lib/errors";
import { alertTestBodySchema } from "@/lib/schemas/api";
import { getState } from "@/lib/state/live-state";

// POST /api/alerts/test {channel} - sends one test message now and answers how it went
export const POST = route(
  async ({ req }) => {
    const { channel: name } = await readJsonBody(req, alertTestBodySchema);
    const snapshot = await getState();
    const channel = snapshot.config.alerts.channels.find((c) => c.name === name);
    if (!channel) throw new ApiError("not_found", `No alert channel "${name}"`);
    const publicUrl = getEnv().alerts.publicUrl;
    const session = snapshot.config.session.name;
    const result = await deliver({
      channel,
      notification: {
        id: randomUUID(),
        rule: "test",
        subject: name,
        kind: "test",
        title: `Test message from ${session}`,
        text: `Test message from ${session} to the alert channel "${name}"`,
        link: publicUrl,
        session,
        at: new Date().toISOString(),
      },
    });
    return Response.json({ channel: name, state: result.state, ...(result.state === "delivered" ? {} : { error: result.error }) });
  },
  { access: "write" },
);
