// `npm test`: every test, unit and end-to-end, against the production build. Installs Debian's
// Chromium and OpenSSH server first when they are missing and we are root; otherwise says how.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";

function run(cmd, args) {
  console.log(`\n$ ${cmd} ${args.join(" ")}`);
  return spawnSync(cmd, args, { stdio: "inherit" }).status ?? 1;
}

async function ensureChromium() {
  if (process.env.CHROMIUM_PATH || fs.existsSync("/usr/bin/chromium")) return;
  const { chromium } = await import("@playwright/test");
  if (fs.existsSync(chromium.executablePath())) return; // Playwright's own browser, on a laptop
  if (process.getuid?.() === 0 && fs.existsSync("/usr/bin/apt-get")) {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "chromium"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    return;
  }
  console.error(
    "No Chromium found. Install Debian's (sudo apt-get install -y chromium), or set CHROMIUM_PATH, " +
      "or run `npx playwright install chromium` where the network allows it.",
  );
  process.exit(1);
}

// The fleet's tests talk to a real OpenSSH server on loopback; Debian's package starts no daemon.
function ensureSshd() {
  if (fs.existsSync("/usr/sbin/sshd")) return;
  if (process.getuid?.() === 0 && fs.existsSync("/usr/bin/apt-get")) {
    execFileSync("apt-get", ["update"], { stdio: "inherit" });
    execFileSync("apt-get", ["install", "-y", "--no-install-recommends", "openssh-server", "openssh-client"], { stdio: "inherit", env: { ...process.env, DEBIAN_FRONTEND: "noninteractive" } });
    return;
  }
  console.error("No /usr/sbin/sshd: install OpenSSH's server (sudo apt-get install -y openssh-server); the tests start it themselves on a free port.");
  process.exit(1);
}

function counts(file, read) {
  try {
    return read(JSON.parse(fs.readFileSync(file, "utf8")));
  } catch {
    return { passed: 0, failed: 1 };
  }
}

// The network is closed in CI; Next's build would otherwise try to send usage telemetry.
process.env.NEXT_TELEMETRY_DISABLED ??= "1";

await ensureChromium();
ensureSshd();
fs.rmSync("test-results", { recursive: true, force: true });
const unit = run("npx", ["vitest", "run", "--reporter=default", "--reporter=json", "--outputFile=test-results/unit.json"]);
// Read now: Playwright empties test-results/ when it starts.
const u = counts("test-results/unit.json", (r) => ({ passed: r.numPassedTests, failed: r.numFailedTests }));
const build = run("npm", ["run", "build"]);
const e2e = build === 0 ? run("npx", ["playwright", "test"]) : 1;
const e = counts("test-results/e2e.json", (r) => ({ passed: r.stats.expected, failed: r.stats.unexpected + r.stats.flaky }));
console.log(`\nunit: ${u.passed} passed, ${u.failed} failed; e2e: ${e.passed} passed, ${e.failed} failed`);
// The closing line CI reads.
console.log(`${u.passed + e.passed} passed, ${u.failed + e.failed} failed`);
process.exit(unit || build || e2e ? 1 : 0);
