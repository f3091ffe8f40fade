import { spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { describe, expect, it } from "vitest";

const FAKE = path.resolve(__dirname, "../../scripts/fake-nvidia-smi.mjs");
const FIXTURES = path.resolve(__dirname, "../fixtures/nvidia-smi");
const fixture = (name: string) => fs.readFileSync(path.join(FIXTURES, name), "utf8");
const Q =
  "timestamp,index,uuid,name,driver_version,pci.bus_id,pstate,temperature.gpu,utilization.gpu,utilization.memory,memory.total,memory.used,memory.free,power.draw,power.limit,clocks.sm,clocks.mem,clocks.max.sm,fan.speed";

function fake(args: string[], env: Record<string, string> = {}) {
  const run = spawnSync(FAKE, args, { encoding: "utf8", env: { ...process.env, ...env }, timeout: 5000 });
  return { status: run.status, stdout: run.stdout };
}
const withoutTimestamp = (line: string) => line.split(", ").slice(1);

// The fake is only useful if it prints what the real tool printed for the same command.
describe("fake nvidia-smi", () => {
  it("prints query_idle.csv's header and values for the same --format=csv query", () => {
    const { status, stdout } = fake([`--query-gpu=${Q}`, "--format=csv"], { FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, "query_idle.csv") });
    const [header, row] = fixture("query_idle.csv").trim().split("\n");
    const out = stdout.trim().split("\n");
    expect(status).toBe(0);
    expect(out[0]).toBe(header);
    expect(withoutTimestamp(out[1])).toEqual(withoutTimestamp(row));
    expect(out[1].split(", ")[0]).toMatch(/^\d{4}\/\d{2}\/\d{2} \d{2}:\d{2}:\d{2}\.\d{3}$/);
  });

  it("strips units and the header like the real noheader,nounits capture", () => {
    const { stdout } = fake([`--query-gpu=${Q}`, "--format=csv,noheader,nounits"], { FAKE_NVIDIA_SMI_CAPTURE: path.join(FIXTURES, "query_idle.csv") });
    expect(withoutTimestamp(stdout.trim())).toEqual(withoutTimestamp(fixture("query_idle_noheader_nounits.csv").trim()));
  });

  it("prints only the requested fields, in the requested order", () => {
    const { stdout } = fake(["--query-gpu=fan.speed,clocks.sm,index,memory.total", "--format=csv,nounits"]);
    expect(stdout).toBe("fan.speed [%], clocks.current.sm [MHz], index, memory.total [MiB]\n[N/A], 345, 0, 81559\n");
  });

  it("answers --query-compute-apps from apps_busy.csv", () => {
    expect(fake(["--query-compute-apps=pid,process_name,used_memory,gpu_uuid", "--format=csv"]).stdout).toBe(fixture("apps_busy.csv"));
    expect(fake(["--query-compute-apps=gpu_uuid,pid", "--format=csv,noheader,nounits"]).stdout).toBe("GPU-b11cb0f2-ff08-1111-37b7-7f98f227c0bb, 469\n");
  });

  it("rejects an unknown field like the real one: message and exit code 2", () => {
    const { status, stdout } = fake(["--query-gpu=bogus.field", "--format=csv"]);
    expect(status).toBe(2);
    expect(stdout).toBe(fixture("query_bad_field.txt").replace(/exit=2\n$/, ""));
  });

  it("loops with -lms and exits after FAKE_NVIDIA_SMI_EXIT_AFTER lines", () => {
    const { status, stdout } = fake(["--query-gpu=index,power.draw", "--format=csv,noheader", "-lms", "20"], { FAKE_NVIDIA_SMI_EXIT_AFTER: "4" });
    expect(status).toBe(0);
    expect(stdout).toBe("0, 69.16 W\n0, 69.21 W\n0, 69.16 W\n0, 69.06 W\n");
  });
});
