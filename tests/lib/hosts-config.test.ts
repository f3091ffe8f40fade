import { describe, expect, it } from "vitest";
import { loadConfig } from "@/lib/data/config";
import { dcgmExporterUrl, splitSshTarget } from "@/lib/schemas/config";
import { makeDataDir } from "../helpers";

const session = { name: "S", default_cost_per_hour: 1 };

async function load(config: unknown) {
  return loadConfig({ dataDir: makeDataDir({ config }) });
}

describe("hosts in afs.config.json", () => {
  it("reads the issue's example: an ssh host and a dcgm-exporter host, and a model on each", async () => {
    const { config, warnings } = await load({
      session,
      hosts: [
        { name: "a100-east", ssh: "root@203.0.113.7:22022", runs: "/workspace/runs", cost_per_hour: 1.1 },
        { name: "rack-3", gpu: "dcgm-exporter:http://10.0.0.5:9400/metrics" },
      ],
      models: [
        { key: "veran-v5", name: "Veran", host: "a100-east" },
        { key: "rack-model", name: "R", host: "rack-3" },
        { key: "here", name: "H" },
      ],
    });
    expect(warnings).toEqual([]);
    expect(config.hosts).toEqual([
      {
        name: "a100-east",
        ssh: "root@203.0.113.7:22022",
        runs: "/workspace/runs",
        nvidia_smi: "nvidia-smi",
        cost_per_hour: 1.1,
        source: "ssh",
        dcgm_url: null,
        config_errors: [],
      },
      {
        name: "rack-3",
        gpu: "dcgm-exporter:http://10.0.0.5:9400/metrics",
        runs: undefined,
        nvidia_smi: "nvidia-smi",
        source: "dcgm-exporter",
        dcgm_url: "http://10.0.0.5:9400/metrics",
        config_errors: [],
      },
    ]);
    expect(config.models.map((m) => [m.key, m.host])).toEqual([
      ["veran-v5", "a100-east"],
      ["rack-model", "rack-3"],
      ["here", "local"],
    ]);
    // A model without its own rate costs what its host does; else the session's default.
    expect(config.models.map((m) => m.cost_per_hour)).toEqual([1.1, 1, 1]);
  });

  it("changes nothing when hosts is absent: no hosts, every model local, no warning", async () => {
    const { config, warnings } = await load({ session, models: [{ key: "a", name: "A" }] });
    expect(warnings).toEqual([]);
    expect(config.hosts).toEqual([]);
    expect(config.models[0].host).toBe("local");
  });

  it("names each bad entry and keeps the good ones", async () => {
    const { config, warnings } = await load({
      session,
      hosts: [
        { name: "Bad Name", ssh: "root@h1" },
        { name: "local", ssh: "root@h2" },
        { name: "both", ssh: "root@h3", gpu: "dcgm-exporter:http://h3:9400/metrics" },
        { name: "neither" },
        { name: "bad-ssh", ssh: "-oProxyCommand=x@h4" },
        { name: "bad-port", ssh: "root@h5:70000" },
        { name: "bad-gpu", gpu: "dcgm-exporter:file:///etc/passwd" },
        "rack-9",
        { name: "good", ssh: "ubuntu@[2001:db8::1]:2222", nvidia_smi: "nvidia-smi; rm -rf /", cost_per_hour: -1, color: "red" },
        { name: "good", ssh: "root@h6" },
        { name: "rack.2", gpu: "dcgm-exporter:https://rack2.example:9400/metrics", runs: "/runs" },
      ],
      models: [],
    });
    expect(config.hosts.map((h) => h.name)).toEqual(["good", "rack.2"]);
    expect(warnings).toEqual([
      "afs.config.json: hosts[0].name: must match ^[a-z0-9][a-z0-9_.-]{0,63}$ (host not used)",
      'afs.config.json: hosts[1].name: "local" is the dashboard\'s own machine (host not used)',
      "afs.config.json: hosts[2] (both): needs exactly one of ssh and gpu (host not used)",
      "afs.config.json: hosts[3] (neither): needs exactly one of ssh and gpu (host not used)",
      "afs.config.json: hosts[4].ssh: must be user@host or user@host:port (host not used)",
      "afs.config.json: hosts[5].ssh: port must be 1-65535 (host not used)",
      "afs.config.json: hosts[6].gpu: must be dcgm-exporter:<http or https URL, no user:password> (host not used)",
      "afs.config.json: hosts[7]: expected an object (host not used)",
      "afs.config.json: hosts[8].nvidia_smi: must be a path (letters, digits, _ . / + -) (using the default)",
      "afs.config.json: hosts[8].cost_per_hour: Too small: expected number to be >=0 (using the default)",
      "afs.config.json: hosts[8].color: unknown field (using the default)",
      'afs.config.json: hosts[9].name: duplicate name "good" (host not used)',
      "afs.config.json: hosts[10].runs: only read over ssh (ignored)",
    ]);
    const [good, rack] = config.hosts;
    expect(good).toMatchObject({ nvidia_smi: "nvidia-smi", source: "ssh" });
    expect(good.cost_per_hour).toBeUndefined();
    expect(good.config_errors).toHaveLength(3);
    expect(splitSshTarget({ target: good.ssh! })).toEqual({ user: "ubuntu", host: "2001:db8::1", port: 2222 });
    expect(rack).toMatchObject({ runs: undefined, dcgm_url: "https://rack2.example:9400/metrics", config_errors: ["runs: only read over ssh"] });
  });

  it("reads a model whose host is unknown or was left out as local, with a warning", async () => {
    const { config, warnings } = await load({
      session,
      hosts: [{ name: "broken", ssh: "nobody" }],
      models: [
        { key: "a", name: "A", host: "nowhere" },
        { key: "b", name: "B", host: "broken" },
        { key: "c", name: "C", host: "Not A Name" },
      ],
    });
    expect(config.models.map((m) => m.host)).toEqual(["local", "local", "local"]);
    expect(warnings).toEqual([
      "afs.config.json: hosts[0].ssh: must be user@host or user@host:port (host not used)",
      'afs.config.json: models[0].host: no host "nowhere" in hosts (read as local)',
      'afs.config.json: models[1].host: no host "broken" in hosts (read as local)',
      "afs.config.json: models[2].host: must match ^[a-z0-9][a-z0-9_.-]{0,63}$ (using the default)",
    ]);
  });

  it("warns about a hosts value that is not a list, and a duplicated hosts key", async () => {
    expect((await load({ session, hosts: { name: "x" }, models: [] })).warnings).toEqual(["afs.config.json: hosts: expected an array"]);
    const text = `{"session": {"name": "S"}, "hosts": [{"name": "a", "ssh": "root@a"}], "hosts": [], "models": []}`;
    const { config, warnings } = await load(text);
    expect(config.hosts).toEqual([]);
    expect(warnings).toEqual(["afs.config.json: hosts: duplicate key (ignored)"]);
  });
});

describe("ssh targets and dcgm-exporter URLs", () => {
  it("splits user@host[:port], port 22 by default", () => {
    expect(splitSshTarget({ target: "root@203.0.113.7:22022" })).toEqual({ user: "root", host: "203.0.113.7", port: 22022 });
    expect(splitSshTarget({ target: "me@box.example" })).toEqual({ user: "me", host: "box.example", port: 22 });
    expect(() => splitSshTarget({ target: "box.example" })).toThrow();
  });

  it("takes only http and https URLs after the dcgm-exporter: prefix", () => {
    expect(dcgmExporterUrl({ gpu: "dcgm-exporter:http://10.0.0.5:9400/metrics" })).toBe("http://10.0.0.5:9400/metrics");
    expect(dcgmExporterUrl({ gpu: "dcgm-exporter:ftp://10.0.0.5/metrics" })).toBeNull();
    expect(dcgmExporterUrl({ gpu: "prometheus:http://10.0.0.5:9400/metrics" })).toBeNull();
    expect(dcgmExporterUrl({ gpu: "dcgm-exporter:not a url" })).toBeNull();
    expect(dcgmExporterUrl({ gpu: "dcgm-exporter:http://admin:secret@10.0.0.5:9400/metrics" })).toBeNull();
  });
});
