import { execFileSync } from "node:child_process";
import { createHash } from "node:crypto";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";
import { beforeAll, describe, expect, it } from "vitest";
import { fingerprintKey, parseKnownHosts, readKnownHosts, verifyHostKey } from "@/lib/hosts/known-hosts";

// Real keys from ssh-keygen, so the blobs and fingerprints are OpenSSH's own.
let dir: string;
const keys: Record<string, { line: string; blob: Buffer; fingerprint: string }> = {};

function genKey(name: string, type: string, bits?: string) {
  const file = path.join(dir, name);
  execFileSync("ssh-keygen", ["-q", "-t", type, ...(bits ? ["-b", bits] : []), "-N", "", "-C", name, "-f", file]);
  const pub = fs.readFileSync(`${file}.pub`, "utf8").trim();
  // ssh-keygen -lf prints "256 SHA256:xxxx comment (ED25519)".
  const fingerprint = execFileSync("ssh-keygen", ["-lf", `${file}.pub`], { encoding: "utf8" }).split(" ")[1];
  keys[name] = { line: pub.split(" ").slice(0, 2).join(" "), blob: Buffer.from(pub.split(" ")[1], "base64"), fingerprint };
}

beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-known-hosts-"));
  genKey("ed", "ed25519");
  genKey("ec", "ecdsa", "256");
  genKey("rsa", "rsa", "2048");
  genKey("other", "ed25519");
});

describe("known_hosts", () => {
  it("computes the fingerprint OpenSSH prints", () => {
    for (const k of Object.values(keys)) expect(fingerprintKey({ key: k.blob })).toBe(k.fingerprint);
    expect(keys.ed.fingerprint).toMatch(/^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  it("matches plain names, comma lists, [host]:port forms and each key type", () => {
    const entries = parseKnownHosts({
      text: [
        "# a comment",
        "",
        `box-a,10.0.0.1 ${keys.ed.line}`,
        `[box-b]:2222 ${keys.ec.line}`,
        `box-c ${keys.rsa.line} a trailing comment`,
        `*.gpu.example,!bad.gpu.example ${keys.other.line}`,
      ].join("\n"),
    });
    expect(entries).toHaveLength(4);
    expect(entries.map((e) => e.type)).toEqual(["ssh-ed25519", "ecdsa-sha2-nistp256", "ssh-rsa", "ssh-ed25519"]);
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.ed.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "10.0.0.1", port: 22, key: keys.ed.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "BOX-A", port: 22, key: keys.ed.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "box-b", port: 2222, key: keys.ec.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "box-c", port: 22, key: keys.rsa.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "n1.gpu.example", port: 22, key: keys.other.blob })).toEqual({ ok: true });
    // A port is part of the name: box-b on 22 and box-a on 2222 are other hosts.
    expect(verifyHostKey({ entries, host: "box-b", port: 22, key: keys.ec.blob })).toEqual({ ok: false, reason: "unknown", presented: keys.ec.fingerprint });
    expect(verifyHostKey({ entries, host: "box-a", port: 2222, key: keys.ed.blob })).toMatchObject({ ok: false, reason: "unknown" });
    expect(verifyHostKey({ entries, host: "bad.gpu.example", port: 22, key: keys.other.blob })).toMatchObject({ ok: false, reason: "unknown" });
  });

  it("reports a different key with both fingerprints", () => {
    const entries = parseKnownHosts({ text: `box-a ${keys.ed.line}\nbox-a ${keys.rsa.line}\n` });
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.other.blob })).toEqual({
      ok: false,
      reason: "mismatch",
      expected: [keys.ed.fingerprint, keys.rsa.fingerprint],
      presented: keys.other.fingerprint,
    });
    // The host is known under other keys, so a new key type is not accepted either.
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.ec.blob })).toMatchObject({ ok: false, reason: "mismatch" });
  });

  it("matches hashed entries written by ssh-keygen -H", async () => {
    const file = path.join(dir, "known_hosts");
    fs.writeFileSync(file, `box-a ${keys.ed.line}\n[box-b]:2222 ${keys.ec.line}\n`);
    execFileSync("ssh-keygen", ["-q", "-H", "-f", file]);
    const text = fs.readFileSync(file, "utf8");
    expect(text).not.toContain("box-a");
    expect(text).toMatch(/^\|1\|/);
    const entries = await readKnownHosts({ path: file });
    expect(entries).toHaveLength(2);
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.ed.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "box-b", port: 2222, key: keys.ec.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.other.blob })).toEqual({
      ok: false,
      reason: "mismatch",
      expected: [keys.ed.fingerprint],
      presented: keys.other.fingerprint,
    });
    expect(verifyHostKey({ entries, host: "box-b", port: 22, key: keys.ec.blob })).toMatchObject({ ok: false, reason: "unknown" });
  });

  it("skips @cert-authority lines, honours @revoked, and drops corrupt lines", () => {
    const corrupt = `box-a ssh-ed25519 ${keys.rsa.line.split(" ")[1]}`; // an RSA blob under the ed25519 name
    const entries = parseKnownHosts({
      text: [`@cert-authority *.example ${keys.other.line}`, `@revoked box-a ${keys.other.line}`, `box-a ${keys.ed.line}`, corrupt, "box-a ssh-ed25519", "garbage"].join("\n"),
    });
    expect(entries).toHaveLength(2);
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.other.blob })).toEqual({ ok: false, reason: "revoked", presented: keys.other.fingerprint });
    expect(verifyHostKey({ entries, host: "box-a", port: 22, key: keys.ed.blob })).toEqual({ ok: true });
    expect(verifyHostKey({ entries, host: "x.example", port: 22, key: keys.other.blob })).toMatchObject({ ok: false, reason: "unknown" });
  });

  it("reads a missing file as no entries", async () => {
    expect(await readKnownHosts({ path: path.join(dir, "absent") })).toEqual([]);
    // The fingerprint is plain SHA-256 of the blob, unpadded.
    expect(fingerprintKey({ key: keys.ed.blob })).toBe(`SHA256:${createHash("sha256").update(keys.ed.blob).digest("base64").replace(/=+$/, "")}`);
  });
});
