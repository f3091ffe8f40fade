import useSWR from "swr";
import type { HostsResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// Every host's GPU figures change every few seconds; the answer is the server's latest reading,
// with no remote call per request, so asking this often costs little.
const HOSTS_REFRESH_MS = 2_000;

// GET /api/hosts: every host, "local" first, with its state, GPUs, processes and models.
export function useHosts() {
  return useSWR<HostsResponse, FetchError>(KEYS.hosts, { refreshInterval: HOSTS_REFRESH_MS });
}
