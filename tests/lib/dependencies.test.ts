import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

// The floors that carry the 2025–2026 security fixes: Next's middleware and RSC advisories
// (16.3.3) and React's server-components advisories (the newest 19 when this was written).
const FLOORS: Record<string, string> = { next: "16.3.3", react: "19.3.1", "react-dom": "19.3.1" };

const parse = (v: string) => v.split(/[.+-]/).slice(0, 3).map(Number);
function atLeast(version: string, floor: string): boolean {
  const [a, b] = [parse(version), parse(floor)];
  for (let i = 0; i < 3; i++) if (a[i] !== b[i]) return a[i] > b[i];
  return true;
}

describe("dependency floors in package-lock.json", () => {
  const lock = JSON.parse(fs.readFileSync(path.join(__dirname, "..", "..", "package-lock.json"), "utf8"));
  it.each(Object.entries(FLOORS))("%s is at least %s", (name, floor) => {
    const version: string = lock.packages[`node_modules/${name}`]?.version;
    expect(version, `${name} missing from the lockfile`).toBeDefined();
    expect(atLeast(version, floor), `${name} ${version} < ${floor}`).toBe(true);
    expect(version.startsWith(floor.split(".")[0] + "."), `${name} left major ${floor.split(".")[0]}`).toBe(true);
  });

  it("the comparison itself works", () => {
    expect(atLeast("16.3.2", "16.3.3")).toBe(false);
    expect(atLeast("16.10.0", "16.3.3")).toBe(true);
    expect(atLeast("19.3.1", "19.3.1")).toBe(true);
  });
});
