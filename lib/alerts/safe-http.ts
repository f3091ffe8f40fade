import "server-only";
import dns from "node:dns";
import http from "node:http";
import https from "node:https";
import net from "node:net";

// The outgoing-URL guard: alert URLs come from config and env, and an alert POST must not be
// turned into a probe of the machine's own network (cloud metadata at 169.254.169.254, admin
// ports on loopback, the LAN). An operator who runs a receiver inside the network names its
// host in AFS_ALERT_ALLOW_HOSTS.

// A receiver's answer is only read for its status and a short error text.
const MAX_BODY_BYTES = 1024;
const USER_AGENT = "afs-training-dashboard";

// BlockList also matches IPv4-mapped IPv6 (::ffff:127.0.0.1) against the IPv4 subnets.
const BLOCKED: { kind: string; subnets: [string, number, "ipv4" | "ipv6"][] }[] = [
  { kind: "loopback", subnets: [["127.0.0.0", 8, "ipv4"], ["::1", 128, "ipv6"]] },
  { kind: "private", subnets: [["10.0.0.0", 8, "ipv4"], ["172.16.0.0", 12, "ipv4"], ["192.168.0.0", 16, "ipv4"]] },
  { kind: "link-local", subnets: [["169.254.0.0", 16, "ipv4"], ["fe80::", 10, "ipv6"]] },
  { kind: "carrier-grade NAT", subnets: [["100.64.0.0", 10, "ipv4"]] },
  { kind: "unique-local", subnets: [["fc00::", 7, "ipv6"]] },
  { kind: "multicast", subnets: [["224.0.0.0", 4, "ipv4"], ["ff00::", 8, "ipv6"]] },
  { kind: "unspecified", subnets: [["0.0.0.0", 8, "ipv4"], ["::", 128, "ipv6"]] },
];
const BLOCK_LISTS = BLOCKED.map(({ kind, subnets }) => {
  const list = new net.BlockList();
  for (const [address, prefix, family] of subnets) list.addSubnet(address, prefix, family);
  return { kind, list };
});

// Thrown when a URL is refused, before any connection: the caller tells it from a network error.
export class RefusedUrlError extends Error {}

export type SafeAnswer = { status: number; headers: Record<string, string>; body: string };

// What kind of internal address this is ("loopback", "private", ...), or null for a public one.
export function describeBlockedAddress(address: string): string | null {
  const family = net.isIP(address) === 6 ? "ipv6" : "ipv4";
  return BLOCK_LISTS.find(({ list }) => list.check(address, family))?.kind ?? null;
}

// One POST, with no redirects followed (a 3xx comes back as a status) and timeoutMs for the
// lookup, connection and answer together. The host is resolved once, every address it has is
// checked, and the connection goes to a checked address (a second lookup could answer
// differently); the name still serves for TLS (SNI, certificate) and the Host header.
export async function safePost({
  url,
  body,
  headers = {},
  allowHosts,
  timeoutMs = 5000,
}: {
  url: string;
  body: string;
  headers?: Record<string, string>;
  allowHosts: string[];
  timeoutMs?: number;
}): Promise<SafeAnswer> {
  const deadline = Date.now() + timeoutMs;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    throw new RefusedUrlError("the URL is not a valid URL");
  }
  // URL keeps IPv6 literals in brackets and has already normalised IPv4 forms (0x7f.1 → 127.0.0.1).
  const host = target.hostname.replace(/^\[|\]$/g, "").toLowerCase();
  const allowed = allowHosts.includes(host);
  if (target.protocol !== "https:" && !(target.protocol === "http:" && allowed)) {
    throw new RefusedUrlError(
      target.protocol === "http:"
        ? `plain http to ${host} is refused: use https, or list the host in AFS_ALERT_ALLOW_HOSTS`
        : `only https URLs are allowed, not ${target.protocol}`,
    );
  }
  const addresses = net.isIP(host)
    ? [{ address: host, family: net.isIP(host) }]
    : await withDeadline(dns.promises.lookup(host, { all: true, verbatim: true }), deadline, timeoutMs);
  if (!allowed) {
    for (const { address } of addresses) {
      const kind = describeBlockedAddress(address);
      if (kind) {
        throw new RefusedUrlError(
          `${host} ${address === host ? "is" : `resolves to ${address},`} an internal address (${kind}); list the host in AFS_ALERT_ALLOW_HOSTS to allow it`,
        );
      }
    }
  }
  const checked = addresses[0];
  // Node asks with all: true when it tries address families in turn (autoSelectFamily).
  const lookup = (_name: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    options.all ? callback(null, [checked]) : callback(null, checked.address, checked.family);

  return new Promise<SafeAnswer>((resolve, reject) => {
    let settled = false;
    const settle = (err: Error | null, answer?: SafeAnswer) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      if (err) reject(err);
      else resolve(answer!);
    };
    const client = target.protocol === "https:" ? https : http;
    // agent: false: a fresh connection per attempt, never a pooled one from an earlier lookup.
    const req = client.request(
      target,
      {
        method: "POST",
        agent: false,
        lookup: lookup as net.LookupFunction,
        headers: { ...headers, "user-agent": USER_AGENT, "content-length": String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        let size = 0;
        const finish = () => {
          const flat: Record<string, string> = {};
          for (const [name, value] of Object.entries(res.headers)) {
            if (value !== undefined) flat[name] = Array.isArray(value) ? value.join(", ") : value;
          }
          settle(null, { status: res.statusCode ?? 0, headers: flat, body: Buffer.concat(chunks).toString("utf8") });
          res.destroy();
        };
        res.on("data", (chunk: Buffer) => {
          chunks.push(chunk.subarray(0, MAX_BODY_BYTES - size));
          size += chunk.length;
          if (size >= MAX_BODY_BYTES) finish();
        });
        res.on("end", finish);
        res.on("error", (err) => settle(err));
        res.on("close", () => settle(new Error("the connection closed before the answer was complete")));
      },
    );
    const timer = setTimeout(() => req.destroy(new Error(`no answer within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
    req.on("error", (err) => settle(err));
    req.end(body);
  });
}

async function withDeadline<T>(work: Promise<T>, deadline: number, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), Math.max(0, deadline - Date.now()));
  });
  try {
    return await Promise.race([work, late]);
  } finally {
    clearTimeout(timer);
  }
}
