import "server-only";
import { hasGpuHistory } from "@/lib/store/gpu-samples";

// How a remote host's GPUs are read now, and their mean utilization. A stand-in until the fleet
// fills it in from its live state: a host with stored history was read by nvidia-smi, and no
// live reading is known.
export async function getHostGpu({ host }: { host: string }): Promise<{ source: "nvidia-smi" | "dcgm-exporter" | "none"; current_utilization: number | null }> {
  return { source: (await hasGpuHistory({ host })) ? "nvidia-smi" : "none", current_utilization: null };
}
