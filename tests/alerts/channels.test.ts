import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import { deliver, messageIdFor } from "@/lib/alerts/channels";
import type { Channel, Notification } from "@/lib/alerts/types";
import { discordAnswers, slackAnswers, startAlertReceiver, type AlertReceiver, type ReceiverAnswer } from "../support/alert-receivers";
import { startSmtpPeer, type SmtpPeer } from "../support/smtp";

// Where Slack and Discord keep a webhook's secret: no error text may quote it.
const SECRET = "XqT7fG2kLm9Pz4Rw8sVb1Nc6";
const PATH = `/services/T0AFS1/B0AFS2/${SECRET}`;

const notification: Notification = {
  id: "n-01JDZ7Q8K3",
  rule: "run_completed",
  subject: "veran-v5",
  kind: "firing",
  title: "Veran v5 completed",
  text: "Final loss 0.412 after 12000 steps\nBest eval loss 0.398 at step 11500",
  link: "https://dash.example.com/models/veran-v5",
  session: "s-20261130-0100",
  at: "2026-11-30T01:00:00.000Z",
};

let receiver: AlertReceiver;
beforeEach(async () => {
  vi.stubEnv("AFS_ALERT_ALLOW_HOSTS", "127.0.0.1");
  receiver = await startAlertReceiver();
});
afterEach(async () => {
  vi.unstubAllEnvs();
  await receiver.close();
});

function channel(type: Channel["type"], url: string | null = `${receiver.url}${PATH}`): Channel {
  return { name: "team", type, url, to: [] };
}

describe("deliver: the bodies", () => {
  it("posts Slack a section and a context block", async () => {
    receiver.queueAnswers(slackAnswers.ok);
    const result = await deliver({ channel: channel("slack"), notification: { ...notification, title: "Veran <v5> & co", text: "Veran <v5> & co completed: 1 h, $2.00" } });
    expect(result).toEqual({ state: "delivered" });
    const [request] = receiver.requests;
    expect(request.method).toBe("POST");
    expect(request.path).toBe(PATH);
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["user-agent"]).toBe("afs-training-dashboard");
    expect(request.body).toEqual({
      // the whole message, which a phone's notification shows
      text: "Veran &lt;v5&gt; &amp; co completed: 1 h, $2.00",
      blocks: [
        {
          type: "section",
          text: { type: "mrkdwn", text: "*Veran &lt;v5&gt; &amp; co*\nVeran &lt;v5&gt; &amp; co completed: 1 h, $2.00" },
        },
        {
          type: "context",
          elements: [{ type: "mrkdwn", text: "<https://dash.example.com/models/veran-v5|Open in the dashboard> · session s-20261130-0100" }],
        },
      ],
    });
  });

  it("leaves Slack's context block out when there is neither link nor session", async () => {
    await deliver({ channel: channel("slack"), notification: { ...notification, link: null, session: "" } });
    expect((receiver.requests[0].body as { blocks: unknown[] }).blocks).toHaveLength(1);
  });

  it("posts Discord an embed coloured by kind, with mentions off", async () => {
    receiver.queueAnswers(discordAnswers.ok, discordAnswers.ok, discordAnswers.ok);
    expect(await deliver({ channel: channel("discord"), notification })).toEqual({ state: "delivered" });
    expect(receiver.requests[0].body).toEqual({
      content: "Firing: run_completed on veran-v5",
      embeds: [
        {
          title: "Veran v5 completed",
          description: "Final loss 0.412 after 12000 steps\nBest eval loss 0.398 at step 11500",
          url: "https://dash.example.com/models/veran-v5",
          color: 0xed4245,
          timestamp: "2026-11-30T01:00:00.000Z",
          footer: { text: "session s-20261130-0100" },
        },
      ],
      allowed_mentions: { parse: [] },
    });
    await deliver({ channel: channel("discord"), notification: { ...notification, kind: "resolved", link: null } });
    await deliver({ channel: channel("discord"), notification: { ...notification, kind: "test" } });
    const embeds = receiver.requests.map((r) => (r.body as { embeds: { color: number; url?: string }[] }).embeds[0]);
    expect(embeds.map((e) => e.color)).toEqual([0xed4245, 0x57f287, 0x95a5a6]);
    expect(embeds[1].url).toBeUndefined();
  });

  it("posts a webhook the documented body with an Idempotency-Key", async () => {
    expect(await deliver({ channel: channel("webhook"), notification })).toEqual({ state: "delivered" });
    const [request] = receiver.requests;
    expect(request.headers["idempotency-key"]).toBe("n-01JDZ7Q8K3");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.body).toEqual({
      version: 1,
      id: "n-01JDZ7Q8K3",
      kind: "firing",
      rule: "run_completed",
      subject: "veran-v5",
      title: "Veran v5 completed",
      text: "Final loss 0.412 after 12000 steps\nBest eval loss 0.398 at step 11500",
      link: "https://dash.example.com/models/veran-v5",
      session: "s-20261130-0100",
      at: "2026-11-30T01:00:00.000Z",
    });
  });
});

describe("deliver: what an answer means", () => {
  const json = (status: number, body: unknown, headers: Record<string, string> = {}): ReceiverAnswer => ({
    kind: "reply",
    status,
    headers: { "content-type": "application/json", ...headers },
    body: JSON.stringify(body),
  });

  it.each<[Channel["type"], ReceiverAnswer, unknown]>([
    ["slack", slackAnswers.noTeam, { state: "broken", error: "Slack says the slack webhook of channel team is gone (HTTP 404: no_team); it needs a new URL" }],
    ["slack", slackAnswers.archived, { state: "broken", error: "Slack says the slack webhook of channel team is gone (HTTP 410: channel_is_archived); it needs a new URL" }],
    ["slack", slackAnswers.rateLimited("30"), { state: "retry", error: "the slack webhook of channel team answered HTTP 429: rate_limited", retry_after_ms: 30_000 }],
    ["slack", { kind: "reply", status: 500, body: "rollup_error" }, { state: "retry", error: "the slack webhook of channel team answered HTTP 500: rollup_error" }],
    ["slack", slackAnswers.invalidPayload, { state: "failed", error: "the slack webhook of channel team refused the notification (HTTP 400: invalid_payload)" }],
    ["slack", { kind: "reply", status: 404, body: "Not Found" }, { state: "failed", error: "the slack webhook of channel team refused the notification (HTTP 404: Not Found)" }],
    ["discord", discordAnswers.rateLimited, { state: "retry", error: "the discord webhook of channel team answered HTTP 429: You are being rate limited.", retry_after_ms: 500 }],
    ["discord", discordAnswers.unknownWebhook, { state: "broken", error: "Discord says the discord webhook of channel team is gone (HTTP 404: Unknown Webhook); it needs a new URL" }],
    ["discord", json(400, { message: "Invalid Form Body", code: 50035 }), { state: "failed", error: "the discord webhook of channel team refused the notification (HTTP 400: Invalid Form Body)" }],
    ["webhook", { kind: "reply", status: 202 }, { state: "delivered" }],
    ["webhook", { kind: "reply", status: 410 }, { state: "broken", error: "the webhook of channel team is gone (HTTP 410); it needs a new URL" }],
    ["webhook", { kind: "reply", status: 503, headers: { "retry-after": "5" } }, { state: "retry", error: "the webhook of channel team answered HTTP 503", retry_after_ms: 5000 }],
    ["webhook", { kind: "reply", status: 302, headers: { location: "http://169.254.169.254/" } }, { state: "broken", error: "the webhook of channel team answered with a redirect (HTTP 302), which is not followed; give the channel the final URL" }],
  ])("%s, %j", async (type, answer, expected) => {
    receiver.queueAnswers(answer);
    expect(await deliver({ channel: channel(type), notification })).toEqual(expected);
    expect(receiver.requests).toHaveLength(1);
  });

  it("reads Discord's Retry-After header when the body has no retry_after", async () => {
    receiver.queueAnswers({ kind: "reply", status: 429, headers: { "retry-after": "2" }, body: "" });
    expect(await deliver({ channel: channel("discord"), notification })).toMatchObject({ state: "retry", retry_after_ms: 2000 });
  });

  it("reads a Retry-After date", async () => {
    const at = new Date(Math.floor(Date.now() / 1000) * 1000 + 120_000);
    receiver.queueAnswers(slackAnswers.rateLimited(at.toUTCString()));
    const result = await deliver({ channel: channel("slack"), notification });
    expect(result.state).toBe("retry");
    const wait = (result as { retry_after_ms: number }).retry_after_ms;
    expect(wait).toBeGreaterThan(115_000);
    expect(wait).toBeLessThanOrEqual(120_000);
  });

  it("retries when the receiver is down", async () => {
    const url = `${receiver.url}${PATH}`;
    await receiver.close();
    const result = await deliver({ channel: channel("slack", url), notification });
    expect(result.state).toBe("retry");
    expect((result as { error: string }).error).toMatch(/^the slack webhook of channel team could not be reached: connect ECONNREFUSED 127\.0\.0\.1:\d+$/);
  });

  it("calls a URL the guard refuses broken, without the URL", async () => {
    const result = await deliver({ channel: channel("discord", `https://10.0.0.1/api/webhooks/1234/${SECRET}`), notification });
    expect(result).toEqual({
      state: "broken",
      error: "the discord webhook of channel team is refused: 10.0.0.1 is an internal address (private); list the host in AFS_ALERT_ALLOW_HOSTS to allow it",
    });
  });

  it("calls a channel without a URL broken", async () => {
    expect(await deliver({ channel: channel("slack", null), notification })).toEqual({
      state: "broken",
      error: "the slack webhook of channel team has no URL (is its url_env set?)",
    });
  });

  it("never quotes the URL's secret, even when the receiver echoes it", async () => {
    receiver.queueAnswers({ kind: "reply", status: 400, body: `invalid_payload for ${PATH}` }, { kind: "reply", status: 500, body: `${receiver.url}${PATH} failed` });
    const first = await deliver({ channel: channel("slack"), notification });
    const second = await deliver({ channel: channel("webhook"), notification });
    expect(first).toEqual({ state: "failed", error: "the slack webhook of channel team refused the notification (HTTP 400: invalid_payload for [the channel URL])" });
    expect(second).toEqual({ state: "retry", error: "the webhook of channel team answered HTTP 500: [the channel URL] failed" });
    expect(JSON.stringify([first, second])).not.toContain(SECRET);
  });
});

describe("deliver: email", () => {
  let smtp: SmtpPeer;
  beforeEach(async () => {
    smtp = await startSmtpPeer();
    vi.stubEnv("AFS_SMTP_URL", smtp.url);
    vi.stubEnv("AFS_ALERT_FROM", "AFS alerts <alerts@afs.example.com>");
  });
  afterEach(async () => {
    await smtp.close();
  });

  const email = (to = ["ml-team@example.com", "oncall@example.com"]): Channel => ({ name: "ops", type: "email", url: null, to });

  it("sends the title as subject, the text and link as body, with a stable Message-ID", async () => {
    expect(await deliver({ channel: email(), notification })).toEqual({ state: "delivered" });
    expect(smtp.mails).toHaveLength(1);
    const [mail] = smtp.mails;
    expect(mail.mailFrom).toBe("alerts@afs.example.com");
    expect(mail.rcptTo).toEqual(["ml-team@example.com", "oncall@example.com"]);
    expect(mail.headers.from).toBe("AFS alerts <alerts@afs.example.com>");
    expect(mail.headers.to).toBe("ml-team@example.com, oncall@example.com");
    expect(mail.headers.subject).toBe("Veran v5 completed");
    expect(mail.headers["message-id"]).toBe("<n-01JDZ7Q8K3@afs-training-dashboard>");
    expect(mail.body.trim()).toBe(
      "Final loss 0.412 after 12000 steps\r\nBest eval loss 0.398 at step 11500\r\n\r\nhttps://dash.example.com/models/veran-v5",
    );
  });

  it("hashes an id a Message-ID cannot hold, the same way each time", () => {
    const id = messageIdFor("run_completed:veran-v5/2026-11-30T01:00");
    expect(id).toMatch(/^<[0-9a-f]{32}@afs-training-dashboard>$/);
    expect(messageIdFor("run_completed:veran-v5/2026-11-30T01:00")).toBe(id);
    expect(messageIdFor("run_completed:veran-v5/2026-11-30T02:00")).not.toBe(id);
  });

  it("fails a message the server rejects for good", async () => {
    smtp.rejectRecipients(["gone@example.com"]);
    const result = await deliver({ channel: email(["gone@example.com"]), notification });
    expect(result.state).toBe("failed");
    expect((result as { error: string }).error).toMatch(/^the mail server rejected the message for the email channel ops: 550 5\.1\.1 <gone@example\.com>: Recipient address rejected/);
    expect(smtp.mails).toHaveLength(0);
  });

  it("retries while the server is down", async () => {
    await smtp.close();
    const result = await deliver({ channel: email(), notification });
    expect(result.state).toBe("retry");
    expect((result as { error: string }).error).toMatch(/^the email channel ops could not send: .*ECONNREFUSED/);
  });

  it("calls email broken without AFS_SMTP_URL or AFS_ALERT_FROM", async () => {
    vi.stubEnv("AFS_SMTP_URL", undefined);
    expect(await deliver({ channel: email(), notification })).toEqual({ state: "broken", error: "the email channel ops cannot send: AFS_SMTP_URL is not set" });
    vi.stubEnv("AFS_SMTP_URL", smtp.url);
    vi.stubEnv("AFS_ALERT_FROM", undefined);
    expect(await deliver({ channel: email(), notification })).toEqual({ state: "broken", error: "the email channel ops cannot send: AFS_ALERT_FROM is not set" });
    expect(smtp.mails).toHaveLength(0);
  });
});
