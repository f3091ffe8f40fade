import { LOCAL_HOST, sshTargetSchema, type AfsConfig, type HostConfig } from "@/lib/schemas/config";
import type { Billing } from "./bill";
import type { IdleGpu } from "@/lib/gpu/idle";

// vast.ai instances as fleet hosts, and what an idle GPU costs. Pure.

export const VAST_HOST_PREFIX = "vast-";

export type BilledIdleGpu = IdleGpu & { usd_per_hour: number };

// Each instance that exists and says where its SSH is, as a host `vast-<id>` read over SSH as
// root (vast's images log in as root); a config host of the same name wins.
export function vastHosts({ billing, config }: { billing: Billing; config: AfsConfig }): { hosts: HostConfig[]; warnings: string[] } {
  const hosts: HostConfig[] = [];
  const warnings: string[] = [];
  for (const i of billing.instances) {
    const name = `${VAST_HOST_PREFIX}${i.id}`;
    if (i.destroyed_at !== undefined || i.ssh_host === null || i.ssh_port === null || config.hosts.some((h) => h.name === name)) continue;
    const ssh = `root@${i.ssh_host}:${i.ssh_port}`;
    if (!sshTargetSchema.safeParse(ssh).success) {
      warnings.push(`instance ${i.id}: ssh_host ${JSON.stringify(i.ssh_host.slice(0, 100))} is not a host name; not read over SSH`);
      continue;
    }
    hosts.push({ name, ssh, nvidia_smi: "nvidia-smi", source: "ssh", dcgm_url: null, config_errors: [], ...perGpu(i) });
  }
  return { hosts, warnings };
}

// What each idle GPU is billed per hour: a running vast.ai instance's dph_total split over its
// GPUs; a configured host's cost_per_hour (a rented box bills whether or not it trains); this
// machine's, the highest rate among the models running on it (nothing runs, nothing is billed).
// GPUs billed nothing are left out.
export function billedIdleGpus({ idle, billing, config, running }: { idle: IdleGpu[]; billing: Billing; config: AfsConfig; running: { host: string; cost_per_hour: number }[] }): BilledIdleGpu[] {
  const rate = (host: string): number => {
    if (host.startsWith(VAST_HOST_PREFIX)) {
      const i = billing.instances.find((x) => `${VAST_HOST_PREFIX}${x.id}` === host && x.destroyed_at === undefined);
      if (i) return i.state === "running" ? (perGpu(i).cost_per_hour ?? 0) : 0;
    }
    const configured = config.hosts.find((h) => h.name === host);
    if (configured) return configured.cost_per_hour ?? 0;
    return host === LOCAL_HOST ? Math.max(0, ...running.filter((m) => m.host === LOCAL_HOST).map((m) => m.cost_per_hour)) : 0;
  };
  return idle.map((gpu) => ({ ...gpu, usd_per_hour: rate(gpu.host) })).filter((gpu) => gpu.usd_per_hour > 0);
}

function perGpu(i: { dph_total: number | null; num_gpus: number | null }): { cost_per_hour?: number } {
  return i.dph_total === null ? {} : { cost_per_hour: i.dph_total / Math.max(1, i.num_gpus ?? 1) };
}
