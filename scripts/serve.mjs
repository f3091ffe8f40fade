// Starts the standalone production server with the dashboard's defaults: loopback only
// (HOST, PORT) and the data dir resolved against where it was started, since the standalone
// server changes its working directory to .next/standalone.
import http from "node:http";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

process.env.AFS_DATA_DIR = path.resolve(process.env.AFS_DATA_DIR ?? "data");
// `npm run demo`: with no GPU source chosen, replay the real H100 capture bundled with the data.
if (process.argv.includes("--demo")) {
  process.env.AFS_GPU_SOURCE ??= `replay:${path.join(process.env.AFS_DATA_DIR, "gpu", "stream_500ms.csv")}`;
}
if (process.env.AFS_DB) process.env.AFS_DB = path.resolve(process.env.AFS_DB);
process.env.HOSTNAME = process.env.HOST ?? "127.0.0.1";

// Reachable from other machines, writes must not rest on a token generated into a file
// nobody configured: refuse to start until AFS_API_TOKEN is set.
const loopback = /^(127\.\d+\.\d+\.\d+|::1|localhost)$/;
if (!loopback.test(process.env.HOSTNAME) && !process.env.AFS_API_TOKEN) {
  console.error(
    `[afs] refusing to listen on ${process.env.HOSTNAME}: set AFS_API_TOKEN (the admin token for writes) ` +
      "before exposing the dashboard beyond this machine, or bind HOST=127.0.0.1.",
  );
  process.exit(1);
}
process.env.PORT ??= "3000";

// Next 16 strips Content-Length from route-handler responses (FORBIDDEN_HEADERS in
// next/dist/server/send-response.js), since a decoded fetch body may differ in size. Artifact
// downloads know their exact size and pass it as x-afs-content-length (lib/downloads.ts).
const setHeader = http.ServerResponse.prototype.setHeader;
http.ServerResponse.prototype.setHeader = function (name, value) {
  const restored = name.toLowerCase() === "x-afs-content-length" ? "Content-Length" : name;
  return setHeader.call(this, restored, value);
};

// Two things Next would otherwise decide before our code sees a request:
// - Failed-token throttling is per client address (lib/auth.ts). Next keeps a client-sent
//   x-forwarded-for, so unless a trusted proxy sets it (AFS_TRUST_PROXY=1) it is replaced with
//   the socket's address.
// - Next answers a raw backslash or a dot segment in a path with a 308 to a "normalised" path;
//   for the API that turns `..\` or `/..` into a redirect, so they get the plain 404 every
//   other odd name gets.
const trustProxy = Boolean(process.env.AFS_TRUST_PROXY);
const emit = http.Server.prototype.emit;
http.Server.prototype.emit = function (event, req, res, ...rest) {
  if (event === "request") {
    // Shutting down (SIGTERM: Next has closed the listener and waits for every connection to
    // end): a keep-alive connection the page polls more often than its idle timeout (the Hosts
    // list, every 2 s) would never end, so from now on each answer closes its connection.
    if (!this.listening) res.setHeader("Connection", "close");
    if (!trustProxy) req.headers["x-forwarded-for"] = req.socket.remoteAddress ?? "unknown";
    const pathname = req.url?.split("?")[0] ?? "";
    if (pathname.startsWith("/api/") && /\\|\/\.\.?(\/|$)/.test(pathname)) {
      res.writeHead(404, { "Content-Type": "application/json", "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff" });
      res.end(JSON.stringify({ error: "No such endpoint" }));
      return true;
    }
  }
  return emit.call(this, event, req, res, ...rest);
};

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
await import(pathToFileURL(path.join(root, ".next/standalone/server.js")).href);
