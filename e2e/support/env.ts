import { execFileSync } from "node:child_process";
import fs from "node:fs";
import os from "node:os";
import path from "node:path";

export const E2E_TOKEN = "e2e-admin-token";

// A port the OS reports free right now. Synchronous, so playwright.config.ts can use it.
export function freePort(): number {
  // Written as a string: console.log(number) is coloured when FORCE_COLOR is set, as under Playwright.
  const script = "const s=require('net').createServer().listen(0,'127.0.0.1',()=>{process.stdout.write(String(s.address().port));s.close()})";
  const out = execFileSync(process.execPath, ["-e", script], { encoding: "utf8" });
  const port = Number(out.trim());
  if (!Number.isInteger(port) || port <= 0) throw new Error(`could not pick a free port: ${out}`);
  return port;
}

// A private copy of the bundled demo data, so tests never write into the repository's data/.
export function copyDemoData(): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "afs-e2e-"));
  fs.cpSync(path.join(__dirname, "..", "..", "data"), dir, {
    recursive: true,
    filter: (src) => path.basename(src) !== ".afs",
  });
  return dir;
}

// CHROMIUM_PATH, else Debian's /usr/bin/chromium, else Playwright's own browser if installed.
export function chromiumPath(): string | undefined {
  if (process.env.CHROMIUM_PATH) return process.env.CHROMIUM_PATH;
  return fs.existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : undefined;
}
