// What the alert engine hands the channels, and what a delivery attempt comes back with.

export const CHANNEL_TYPES = ["slack", "discord", "email", "webhook"] as const;
export type ChannelType = (typeof CHANNEL_TYPES)[number];

// A channel as the config names it, with its secret resolved from the environment: `url` from
// `url_env` (slack, discord, webhook), `to` for email.
export type Channel = { name: string; type: ChannelType; url: string | null; to: string[] };

// One message to one or more channels. `id` is the idempotency key: the same on every attempt.
export type Notification = {
  id: string;
  rule: string;
  // The model key, host name or "host/gpu" the alert is about.
  subject: string;
  kind: "firing" | "resolved" | "test";
  // One line ("Veran v5 completed") and the whole message with its numbers.
  title: string;
  text: string;
  // The dashboard tab it is about, when AFS_PUBLIC_URL is set.
  link: string | null;
  session: string;
  at: string;
};

// delivered: the receiver took it. retry: try again later (after retry_after_ms when the receiver
// said when). broken: the channel cannot work until someone fixes it (a removed Slack webhook, a
// refused URL). failed: this notification will never be taken (a 4xx other than 429).
export type DeliveryResult =
  | { state: "delivered" }
  | { state: "retry"; error: string; retry_after_ms?: number }
  | { state: "broken"; error: string }
  | { state: "failed"; error: string };
