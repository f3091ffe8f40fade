import "server-only";
import { createHash } from "node:crypto";
import nodemailer from "nodemailer";
import { RefusedUrlError, safePost, type SafeAnswer } from "@/lib/alerts/safe-http";
import type { Channel, DeliveryResult, Notification } from "@/lib/alerts/types";
import { getEnv } from "@/lib/env";
import { parseRetryAfter } from "@/lib/http";

// One delivery attempt of one notification to one channel. Retrying, backoff and persistence
// are the outbox's; this only says what the receiver's answer means. A channel's URL carries
// its secret token, so no error text ever contains it: a channel is named by type and name.

// The generic webhook's body, version 1. The same id comes on every attempt, also as the
// Idempotency-Key header, so a receiver can drop a repeat.
export type WebhookBody = {
  version: 1;
  id: string;
  kind: Notification["kind"];
  rule: string;
  subject: string;
  title: string;
  text: string;
  link: string | null;
  session: string;
  at: string;
};

// Slack's and Discord's answers name what is wrong with a webhook that no longer exists.
const SLACK_GONE = ["no_service", "no_team", "channel_not_found", "team_disabled", "invalid_token"];
// Slack refuses a section text over 3000 characters; Discord an embed description over 4096,
// a title over 256 and content over 2000.
const SLACK_SECTION_CHARS = 3000;
const DISCORD_LIMITS = { content: 2000, title: 256, description: 4096 };
// Discord's red, green and grey.
const DISCORD_COLORS = { firing: 0xed4245, resolved: 0x57f287, test: 0x95a5a6 };
const KIND_LABELS = { firing: "Firing", resolved: "Resolved", test: "Test" };
const SMTP_TIMEOUT_MS = 10_000;

export async function deliver({ channel, notification }: { channel: Channel; notification: Notification }): Promise<DeliveryResult> {
  if (channel.type === "email") return sendEmail({ channel, notification });
  const label = `the ${channel.type === "webhook" ? "" : `${channel.type} `}webhook of channel ${channel.name}`;
  if (!channel.url) return { state: "broken", error: `${label} has no URL (is its url_env set?)` };
  let answer: SafeAnswer;
  try {
    answer = await safePost({ url: channel.url, ...buildRequest({ channel, notification }), allowHosts: getEnv().alerts.allowHosts });
  } catch (err) {
    const reason = redact({ text: err instanceof Error ? err.message : String(err), url: channel.url });
    if (err instanceof RefusedUrlError) return { state: "broken", error: `${label} is refused: ${reason}` };
    return { state: "retry", error: `${label} could not be reached: ${reason}` };
  }
  const result = judgeAnswer({ channel, answer, label });
  return result.state === "delivered" ? result : { ...result, error: redact({ text: result.error, url: channel.url }) };
}

function buildRequest({ channel, notification: n }: { channel: Channel; notification: Notification }): {
  body: string;
  headers: Record<string, string>;
} {
  const headers = { "content-type": "application/json" };
  if (channel.type === "slack") {
    // A link is <url|label> in mrkdwn, so the URL may not hold <, > or |.
    const link = n.link ? `<${n.link.replace(/[<>|]/g, encodeURIComponent)}|Open in the dashboard>` : null;
    const context = [link, n.session ? `session ${escapeSlack(n.session)}` : null].filter(Boolean).join(" · ");
    const blocks: unknown[] = [
      { type: "section", text: { type: "mrkdwn", text: cut(`*${escapeSlack(n.title)}*\n${escapeSlack(n.text)}`, SLACK_SECTION_CHARS) } },
    ];
    if (context) blocks.push({ type: "context", elements: [{ type: "mrkdwn", text: context }] });
    // text is what a phone's notification and old clients show: the whole message, numbers included.
    return { headers, body: JSON.stringify({ text: cut(escapeSlack(n.text), SLACK_SECTION_CHARS), blocks }) };
  }
  if (channel.type === "discord") {
    const embed = {
      title: cut(n.title, DISCORD_LIMITS.title),
      description: cut(n.text, DISCORD_LIMITS.description),
      ...(n.link ? { url: n.link } : {}),
      color: DISCORD_COLORS[n.kind],
      timestamp: n.at,
      ...(n.session ? { footer: { text: `session ${n.session}` } } : {}),
    };
    const content = cut(`${KIND_LABELS[n.kind]}: ${n.rule} on ${n.subject}`, DISCORD_LIMITS.content);
    // A model named "@everyone" must not ping the whole server.
    return { headers, body: JSON.stringify({ content, embeds: [embed], allowed_mentions: { parse: [] } }) };
  }
  const body: WebhookBody = {
    version: 1,
    id: n.id,
    kind: n.kind,
    rule: n.rule,
    subject: n.subject,
    title: n.title,
    text: n.text,
    link: n.link,
    session: n.session,
    at: n.at,
  };
  return { headers: { ...headers, "idempotency-key": n.id }, body: JSON.stringify(body) };
}

function judgeAnswer({ channel, answer, label }: { channel: Channel; answer: SafeAnswer; label: string }): DeliveryResult {
  const { status } = answer;
  if (status >= 200 && status < 300) return { state: "delivered" };
  const said = `HTTP ${status}${describeBody(answer)}`;
  if (isGone({ channel, answer })) {
    const who = channel.type === "slack" ? "Slack says " : channel.type === "discord" ? "Discord says " : "";
    return { state: "broken", error: `${who}${label} is gone (${said}); it needs a new URL` };
  }
  if (status === 429 || status >= 500) {
    const retryAfterMs = readRetryAfter({ channel, answer });
    const error = `${label} answered ${said}`;
    return retryAfterMs === null ? { state: "retry", error } : { state: "retry", error, retry_after_ms: retryAfterMs };
  }
  if (status >= 300 && status < 400) {
    return { state: "broken", error: `${label} answered with a redirect (${said}), which is not followed; give the channel the final URL` };
  }
  return { state: "failed", error: `${label} refused the notification (${said})` };
}

function isGone({ channel, answer }: { channel: Channel; answer: SafeAnswer }): boolean {
  const { status } = answer;
  if (status === 410) return true;
  // Slack answers these as a plain-text code.
  if (channel.type === "slack") return (status === 403 || status === 404) && SLACK_GONE.some((code) => answer.body.includes(code));
  // Discord answers 401 "Invalid Webhook Token" to a webhook whose token was reset.
  if (channel.type === "discord") return status === 404 || status === 401;
  return status === 404;
}

// Discord's JSON retry_after is in seconds, fractional, and finer than its Retry-After header.
function readRetryAfter({ channel, answer }: { channel: Channel; answer: SafeAnswer }): number | null {
  if (channel.type === "discord") {
    const seconds = (parseJson(answer.body) as { retry_after?: unknown } | null)?.retry_after;
    if (typeof seconds === "number" && Number.isFinite(seconds) && seconds >= 0) return Math.ceil(seconds * 1000);
  }
  return parseRetryAfter({ value: answer.headers["retry-after"] ?? null });
}

// A short quote of the receiver's words: Discord's message, Slack's code, or the start of the text.
function describeBody(answer: SafeAnswer): string {
  const message = (parseJson(answer.body) as { message?: unknown } | null)?.message;
  const text = (typeof message === "string" ? message : answer.body).replace(/\s+/g, " ").trim();
  return text ? `: ${cut(text, 200)}` : "";
}

async function sendEmail({ channel, notification: n }: { channel: Channel; notification: Notification }): Promise<DeliveryResult> {
  const { smtpUrl, from } = getEnv().alerts;
  const label = `the email channel ${channel.name}`;
  if (!smtpUrl) return { state: "broken", error: `${label} cannot send: AFS_SMTP_URL is not set` };
  if (!from) return { state: "broken", error: `${label} cannot send: AFS_ALERT_FROM is not set` };
  if (channel.to.length === 0) return { state: "broken", error: `${label} has no recipients` };
  const transport = nodemailer.createTransport({
    url: smtpUrl,
    connectionTimeout: SMTP_TIMEOUT_MS,
    greetingTimeout: SMTP_TIMEOUT_MS,
    socketTimeout: SMTP_TIMEOUT_MS,
  });
  try {
    await transport.sendMail({
      from,
      to: channel.to,
      subject: n.title,
      text: n.link ? `${n.text}\n\n${n.link}` : n.text,
      messageId: messageIdFor(n.id),
    });
    return { state: "delivered" };
  } catch (err) {
    const e = err as { code?: string; responseCode?: number; response?: string; message?: string };
    const reason = e.response ?? e.message ?? String(err);
    if (e.code === "EAUTH") return { state: "broken", error: `the mail server refused the login for ${label}: ${reason}` };
    // 503 is "bad sequence of commands", a protocol hiccup rather than a verdict on the message.
    if (e.responseCode && e.responseCode >= 500 && e.responseCode !== 503) {
      return { state: "failed", error: `the mail server rejected the message for ${label}: ${reason}` };
    }
    return { state: "retry", error: `${label} could not send: ${reason}` };
  } finally {
    transport.close();
  }
}

// The same on every attempt, so a resend shows as the same message; an id with characters a
// Message-ID cannot hold is hashed.
export function messageIdFor(id: string): string {
  const local = /^[A-Za-z0-9][A-Za-z0-9._-]*$/.test(id) ? id : createHash("sha256").update(id).digest("hex").slice(0, 32);
  return `<${local}@afs-training-dashboard>`;
}

// The URL, and its path alone (where Slack and Discord keep the token), as they might be echoed
// back by a receiver or a lower layer.
function redact({ text, url }: { text: string; url: string }): string {
  let path = "";
  try {
    const parsed = new URL(url);
    path = parsed.pathname + parsed.search;
  } catch {
    // Not a URL: only the whole string can be searched for.
  }
  let out = text.split(url).join("[the channel URL]");
  if (path.length > 1) out = out.split(path).join("[the channel URL]");
  return out;
}

// Slack's mrkdwn reads &, < and > as markup (links, mentions such as <!channel>).
function escapeSlack(text: string): string {
  return text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;");
}

function cut(text: string, max: number): string {
  return text.length <= max ? text : `${text.slice(0, max - 1)}…`;
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return null;
  }
}
