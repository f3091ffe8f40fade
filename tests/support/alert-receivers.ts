import http from "node:http";
import type { AddressInfo } from "node:net";

// A stand-in for the places alerts are posted to: a Slack incoming webhook, a Discord webhook,
// a user's own webhook endpoint. No real one can be reached here, so the answers follow the
// services' documented ones: Slack answers 200 "ok" or an error code as plain text (404
// "no_team", 410 "channel_is_archived"), Discord 204 with no body, or 429 with a JSON body
// whose retry_after is in seconds.

export type ReceiverAnswer =
  | { kind: "reply"; status: number; headers?: Record<string, string>; body?: string }
  // Takes the request and never answers.
  | { kind: "hang" };

export type ReceivedRequest = {
  method: string;
  path: string;
  headers: http.IncomingHttpHeaders;
  // The body parsed as JSON, or the raw text when it is not JSON.
  body: unknown;
  at: number;
};

export type AlertReceiver = {
  url: string;
  port: number;
  requests: ReceivedRequest[];
  // TCP connections accepted, request or not.
  connections: () => number;
  // The next answers, in order; once they are used up every request gets `fallback`.
  queueAnswers: (...answers: ReceiverAnswer[]) => void;
  close: () => Promise<void>;
};

export const slackAnswers = {
  ok: { kind: "reply", status: 200, headers: { "content-type": "text/html" }, body: "ok" },
  noTeam: { kind: "reply", status: 404, headers: { "content-type": "text/html" }, body: "no_team" },
  archived: { kind: "reply", status: 410, headers: { "content-type": "text/html" }, body: "channel_is_archived" },
  invalidPayload: { kind: "reply", status: 400, headers: { "content-type": "text/html" }, body: "invalid_payload" },
  rateLimited: (retryAfter: string) =>
    ({ kind: "reply", status: 429, headers: { "content-type": "text/html", "retry-after": retryAfter }, body: "rate_limited" }) as const,
} satisfies Record<string, ReceiverAnswer | ((value: string) => ReceiverAnswer)>;

export const discordAnswers = {
  ok: { kind: "reply", status: 204 },
  rateLimited: {
    kind: "reply",
    status: 429,
    headers: { "content-type": "application/json", "retry-after": "1", "x-ratelimit-scope": "user" },
    body: JSON.stringify({ message: "You are being rate limited.", retry_after: 0.5, global: false }),
  },
  unknownWebhook: {
    kind: "reply",
    status: 404,
    headers: { "content-type": "application/json" },
    body: JSON.stringify({ message: "Unknown Webhook", code: 10015 }),
  },
} satisfies Record<string, ReceiverAnswer>;

export async function startAlertReceiver({
  fallback = { kind: "reply", status: 200, body: "ok" },
  host = "127.0.0.1",
  port = 0,
}: { fallback?: ReceiverAnswer; host?: string; port?: number } = {}): Promise<AlertReceiver> {
  const requests: ReceivedRequest[] = [];
  const queued: ReceiverAnswer[] = [];
  let connections = 0;
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (chunk: Buffer) => chunks.push(chunk));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      let body: unknown = text;
      try {
        body = JSON.parse(text);
      } catch {
        // Not JSON: kept as text.
      }
      requests.push({ method: req.method ?? "", path: req.url ?? "", headers: req.headers, body, at: Date.now() });
      const answer = queued.shift() ?? fallback;
      if (answer.kind === "hang") return;
      res.writeHead(answer.status, answer.headers).end(answer.body);
    });
  });
  server.on("connection", () => connections++);
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  const bound = (server.address() as AddressInfo).port;
  return {
    url: `http://${host.includes(":") ? `[${host}]` : host}:${bound}`,
    port: bound,
    requests,
    connections: () => connections,
    queueAnswers: (...answers) => queued.push(...answers),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
