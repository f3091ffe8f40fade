import type { AddressInfo } from "node:net";
import { SMTPServer } from "smtp-server";

// A real SMTP peer on loopback for the email channel: plain SMTP without STARTTLS (its
// self-signed certificate would fail the client's check), no login required.

export type ReceivedMail = { mailFrom: string; rcptTo: string[]; headers: Record<string, string>; body: string };

export type SmtpPeer = {
  url: string;
  mails: ReceivedMail[];
  // Answers RCPT TO for these addresses with 550, as a server does for an unknown mailbox.
  rejectRecipients: (addresses: string[]) => void;
  close: () => Promise<void>;
};

export async function startSmtpPeer(): Promise<SmtpPeer> {
  const mails: ReceivedMail[] = [];
  let rejected: string[] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ["STARTTLS"],
    logger: false,
    onRcptTo(address, _session, callback) {
      if (!rejected.includes(address.address)) return callback();
      callback(Object.assign(new Error(`5.1.1 <${address.address}>: Recipient address rejected: User unknown`), { responseCode: 550 }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on("data", (chunk: Buffer) => chunks.push(chunk));
      stream.on("end", () => {
        const raw = Buffer.concat(chunks).toString("utf8");
        const split = raw.indexOf("\r\n\r\n");
        const headers: Record<string, string> = {};
        // Folded header lines continue with whitespace.
        for (const line of raw.slice(0, split).replace(/\r\n[ \t]+/g, " ").split("\r\n")) {
          const colon = line.indexOf(":");
          headers[line.slice(0, colon).toLowerCase()] = line.slice(colon + 1).trim();
        }
        mails.push({
          mailFrom: session.envelope.mailFrom ? session.envelope.mailFrom.address : "",
          rcptTo: session.envelope.rcptTo.map((rcpt) => rcpt.address),
          headers,
          body: raw.slice(split + 4),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.server.address() as AddressInfo;
  return {
    url: `smtp://127.0.0.1:${port}`,
    mails,
    rejectRecipients: (addresses) => {
      rejected = addresses;
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
