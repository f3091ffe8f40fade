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
process.env.PORT ??= "3000";

// Next 16 strips Content-Length from route-handler responses (FORBIDDEN_HEADERS in
// next/dist/server/send-response.js), since a decoded fetch body may differ in size. Artifact
// downloads know their exact size and pass it as x-afs-content-length (lib/downloads.ts).
const setHeader = http.ServerResponse.prototype.setHeader;
http.ServerResponse.prototype.setHeader = function (name, value) {
  const restored = name.toLowerCase() === "x-afs-content-length" ? "Content-Length" : name;
  return setHeader.call(this, restored, value);
};

const root = path.dirname(path.dirname(fileURLToPath(import.meta.url)));
await import(pathToFileURL(path.join(root, ".next/standalone/server.js")).href);
