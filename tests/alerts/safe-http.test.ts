import diagnostics from "node:diagnostics_channel";
import { afterEach, beforeAll, describe, expect, it } from "vitest";
import { describeBlockedAddress, RefusedUrlError, safePost } from "@/lib/alerts/safe-http";
import { startAlertReceiver, type AlertReceiver } from "../support/alert-receivers";

// Node publishes every TCP client socket it creates here: a refusal must create none.
let clientSockets = 0;
beforeAll(() => {
  diagnostics.subscribe("net.client.socket", () => clientSockets++);
});

const receivers: AlertReceiver[] = [];
async function receiver(options?: Parameters<typeof startAlertReceiver>[0]): Promise<AlertReceiver> {
  const started = await startAlertReceiver(options);
  receivers.push(started);
  return started;
}
afterEach(async () => {
  await Promise.all(receivers.splice(0).map((r) => r.close()));
});

const body = JSON.stringify({ text: "Veran v5 completed" });

describe("safePost refuses before connecting", () => {
  it.each([
    ["http://169.254.169.254/latest/meta-data/", /^plain http to 169\.254\.169\.254 is refused: use https/],
    ["https://169.254.169.254/latest/meta-data/", /^169\.254\.169\.254 is an internal address \(link-local\); list the host in AFS_ALERT_ALLOW_HOSTS/],
    ["https://10.0.0.1/hooks/x", /^10\.0\.0\.1 is an internal address \(private\)/],
    ["https://192.168.1.20/", /^192\.168\.1\.20 is an internal address \(private\)/],
    ["https://100.100.100.200/", /^100\.100\.100\.200 is an internal address \(carrier-grade NAT\)/],
    ["https://0.0.0.0/", /^0\.0\.0\.0 is an internal address \(unspecified\)/],
    ["https://[::ffff:127.0.0.1]/", /^::ffff:7f00:1 is an internal address \(loopback\)/],
    ["https://[fd12:3456::1]/", /^fd12:3456::1 is an internal address \(unique-local\)/],
    ["http://hooks.example.com/x", /^plain http to hooks\.example\.com is refused/],
    ["ftp://hooks.example.com/x", /^only https URLs are allowed, not ftp:/],
    ["not a url", /^the URL is not a valid URL$/],
  ])("%s", async (url, reason) => {
    const before = clientSockets;
    const err = await safePost({ url, body, allowHosts: ["127.0.0.1"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(RefusedUrlError);
    expect((err as Error).message).toMatch(reason);
    expect(clientSockets).toBe(before);
  });

  it("refuses ::1 with a receiver listening there, which sees no connection", async () => {
    const target = await receiver({ host: "::1" });
    const before = clientSockets;
    await expect(safePost({ url: `https://[::1]:${target.port}/`, body, allowHosts: [] })).rejects.toThrow(
      "::1 is an internal address (loopback); list the host in AFS_ALERT_ALLOW_HOSTS to allow it",
    );
    await expect(safePost({ url: `${target.url}/`, body, allowHosts: [] })).rejects.toThrow("plain http to ::1 is refused");
    expect(target.connections()).toBe(0);
    expect(clientSockets).toBe(before);
  });

  it("refuses a name that resolves to loopback unless the name is listed", async () => {
    const target = await receiver();
    const before = clientSockets;
    await expect(safePost({ url: `https://localhost:${target.port}/hook`, body, allowHosts: ["127.0.0.1"] })).rejects.toThrow(
      /^localhost resolves to (127\.0\.0\.1|::1), an internal address \(loopback\)/,
    );
    expect(target.connections()).toBe(0);
    expect(clientSockets).toBe(before);
  });

  it("names the kind of every internal range and passes public addresses", () => {
    expect(describeBlockedAddress("127.3.2.1")).toBe("loopback");
    expect(describeBlockedAddress("172.31.255.255")).toBe("private");
    expect(describeBlockedAddress("172.32.0.1")).toBeNull();
    expect(describeBlockedAddress("100.127.255.255")).toBe("carrier-grade NAT");
    expect(describeBlockedAddress("100.128.0.1")).toBeNull();
    expect(describeBlockedAddress("239.255.255.250")).toBe("multicast");
    expect(describeBlockedAddress("fe80::1")).toBe("link-local");
    expect(describeBlockedAddress("ff02::1")).toBe("multicast");
    expect(describeBlockedAddress("::")).toBe("unspecified");
    expect(describeBlockedAddress("::ffff:10.1.2.3")).toBe("private");
    expect(describeBlockedAddress("::ffff:169.254.169.254")).toBe("link-local");
    expect(describeBlockedAddress("8.8.8.8")).toBeNull();
    expect(describeBlockedAddress("2606:4700:4700::1111")).toBeNull();
    expect(describeBlockedAddress("::ffff:8.8.8.8")).toBeNull();
  });
});

describe("safePost to a listed host", () => {
  it("posts the body with its headers and hands back the answer", async () => {
    const target = await receiver({ fallback: { kind: "reply", status: 201, headers: { "x-request-id": "r-1" }, body: "created" } });
    const answer = await safePost({
      url: `${target.url}/services/T000/B000/secret?x=1`,
      body,
      headers: { "content-type": "application/json", "idempotency-key": "n-1" },
      allowHosts: ["127.0.0.1"],
    });
    expect(answer.status).toBe(201);
    expect(answer.headers["x-request-id"]).toBe("r-1");
    expect(answer.body).toBe("created");
    expect(target.requests).toHaveLength(1);
    const [request] = target.requests;
    expect(request.method).toBe("POST");
    expect(request.path).toBe("/services/T000/B000/secret?x=1");
    expect(request.headers["user-agent"]).toBe("afs-training-dashboard");
    expect(request.headers["content-type"]).toBe("application/json");
    expect(request.headers["idempotency-key"]).toBe("n-1");
    expect(request.headers.host).toBe(`127.0.0.1:${target.port}`);
    expect(request.body).toEqual({ text: "Veran v5 completed" });
  });

  it("hands back a redirect to a private address without following it", async () => {
    const inside = await receiver();
    const target = await receiver({ fallback: { kind: "reply", status: 302, headers: { location: `${inside.url}/admin` } } });
    const before = clientSockets;
    const answer = await safePost({ url: `${target.url}/hook`, body, allowHosts: ["127.0.0.1"] });
    expect(answer.status).toBe(302);
    expect(answer.headers.location).toBe(`${inside.url}/admin`);
    expect(target.requests).toHaveLength(1);
    expect(inside.connections()).toBe(0);
    expect(clientSockets - before).toBe(1);
  });

  it("gives up on a receiver that does not answer within the timeout", async () => {
    const target = await receiver({ fallback: { kind: "hang" } });
    const started = Date.now();
    await expect(safePost({ url: `${target.url}/hook`, body, allowHosts: ["127.0.0.1"], timeoutMs: 300 })).rejects.toThrow(
      "no answer within 300 ms",
    );
    const took = Date.now() - started;
    expect(took).toBeGreaterThanOrEqual(290);
    expect(took).toBeLessThan(2000);
    expect(target.requests).toHaveLength(1);
  });

  it("keeps only the first KiB of a huge answer", async () => {
    const target = await receiver({ fallback: { kind: "reply", status: 500, body: "x".repeat(4 << 20) } });
    const answer = await safePost({ url: `${target.url}/hook`, body, allowHosts: ["127.0.0.1"] });
    expect(answer.status).toBe(500);
    expect(answer.body).toBe("x".repeat(1024));
  });

  it("reports a closed port as a network error, not a refusal", async () => {
    const target = await receiver();
    const { url } = target;
    await target.close();
    const err = await safePost({ url: `${url}/hook`, body, allowHosts: ["127.0.0.1"] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Error);
    expect(err).not.toBeInstanceOf(RefusedUrlError);
    expect((err as Error).message).toMatch(/ECONNREFUSED/);
  });
});
