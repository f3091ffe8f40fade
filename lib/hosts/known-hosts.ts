import "server-only";
import { createHash, createHmac, timingSafeEqual } from "node:crypto";
import fs from "node:fs/promises";

// One usable line of an OpenSSH known_hosts file: the host patterns it names and the key.
export type KnownHostEntry = {
  // Plain patterns ("host", "[host]:2222", "*.example.com", "!bad.example.com") or hashed
  // ones ({ salt, hash } from "|1|salt|hash").
  hosts: ({ pattern: string; negated: boolean } | { salt: Buffer; hash: Buffer })[];
  revoked: boolean;
  type: string;
  // The public key blob, as sent by the server during key exchange.
  key: Buffer;
};

export type HostKeyCheck =
  | { ok: true }
  | { ok: false; reason: "unknown"; presented: string }
  | { ok: false; reason: "mismatch"; expected: string[]; presented: string }
  | { ok: false; reason: "revoked"; presented: string };

const KEY_TYPES = /^(ssh-ed25519|ssh-rsa|ecdsa-sha2-nistp(256|384|521)|ssh-dss)$/;

// Reads a known_hosts file; a missing one knows no host.
export async function readKnownHosts({ path }: { path: string }): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts({ text: await fs.readFile(path, "utf8") });
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === "ENOENT") return [];
    throw err;
  }
}

export function parseKnownHosts({ text }: { text: string }): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const raw of text.split("\n")) {
    const fields = raw.trim().split(/\s+/);
    if (!fields[0] || fields[0].startsWith("#")) continue;
    let revoked = false;
    if (fields[0].startsWith("@")) {
      // @cert-authority trusts a CA to sign host certificates; ssh2 does not offer host
      // certificates, so such a line can never match and is skipped. @revoked is honoured.
      if (fields[0] !== "@revoked") continue;
      revoked = true;
      fields.shift();
    }
    const [names, type, base64] = fields;
    if (!names || !type || !base64 || !KEY_TYPES.test(type)) continue;
    const key = Buffer.from(base64, "base64");
    // The blob starts with its own type name; a line whose blob disagrees is corrupt.
    if (keyType({ key }) !== type) continue;
    entries.push({ hosts: parseHostPatterns(names), revoked, type, key });
  }
  return entries;
}

function parseHostPatterns(names: string) {
  if (names.startsWith("|1|")) {
    const [, , salt, hash] = names.split("|");
    return [{ salt: Buffer.from(salt ?? "", "base64"), hash: Buffer.from(hash ?? "", "base64") }];
  }
  return names.split(",").filter(Boolean).map((p) => ({
    pattern: (p.startsWith("!") ? p.slice(1) : p).toLowerCase(),
    negated: p.startsWith("!"),
  }));
}

// The name OpenSSH writes and hashes: "host" on port 22, "[host]:port" elsewhere.
export function hostKeyName({ host, port }: { host: string; port: number }): string {
  return port === 22 ? host.toLowerCase() : `[${host.toLowerCase()}]:${port}`;
}

export function matchesHost({ entry, host, port }: { entry: KnownHostEntry; host: string; port: number }): boolean {
  const name = hostKeyName({ host, port });
  let matched = false;
  for (const h of entry.hosts) {
    if ("salt" in h) {
      const digest = createHmac("sha1", h.salt).update(name).digest();
      if (digest.length === h.hash.length && timingSafeEqual(digest, h.hash)) matched = true;
    } else if (globMatch(h.pattern, name)) {
      // A negated pattern that matches rules the whole line out, as in OpenSSH.
      if (h.negated) return false;
      matched = true;
    }
  }
  return matched;
}

function globMatch(pattern: string, name: string): boolean {
  if (!/[*?]/.test(pattern)) return pattern === name;
  const re = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(/\?/g, ".");
  return new RegExp(`^${re}$`).test(name);
}

// Checks the key a server presented against the entries for its host.
export function verifyHostKey({ entries, host, port, key }: {
  entries: KnownHostEntry[];
  host: string;
  port: number;
  key: Buffer;
}): HostKeyCheck {
  const presented = fingerprintKey({ key });
  const forHost = entries.filter((entry) => matchesHost({ entry, host, port }));
  if (forHost.some((e) => e.revoked && e.key.equals(key))) return { ok: false, reason: "revoked", presented };
  const known = forHost.filter((e) => !e.revoked);
  if (known.some((e) => e.key.equals(key))) return { ok: true };
  if (known.length === 0) return { ok: false, reason: "unknown", presented };
  // A host known under other keys is refused even when the presented key has another type:
  // accepting a new type would let whoever sits in the middle pick a type nobody pinned.
  return { ok: false, reason: "mismatch", expected: [...new Set(known.map((e) => fingerprintKey({ key: e.key })))], presented };
}

// The key types known for a host, so the client can ask the server for one of those first.
export function knownKeyTypes({ entries, host, port }: { entries: KnownHostEntry[]; host: string; port: number }): string[] {
  return [...new Set(entries.filter((e) => !e.revoked && matchesHost({ entry: e, host, port })).map((e) => e.type))];
}

// OpenSSH's format: "SHA256:" and the unpadded base64 of the blob's SHA-256.
export function fingerprintKey({ key }: { key: Buffer }): string {
  return `SHA256:${createHash("sha256").update(key).digest("base64").replace(/=+$/, "")}`;
}

// The type name at the start of a key blob (a uint32 length, then the name).
export function keyType({ key }: { key: Buffer }): string | null {
  if (key.length < 4) return null;
  const len = key.readUInt32BE(0);
  if (len > 64 || key.length < 4 + len) return null;
  return key.subarray(4, 4 + len).toString("latin1");
}

// A known_hosts line for a key, as `ssh-keyscan` would print it (used to pin a key on first use).
export function formatKnownHostsLine({ host, port, key }: { host: string; port: number; key: Buffer }): string {
  return `${hostKeyName({ host, port })} ${keyType({ key })} ${key.toString("base64")}`;
}
