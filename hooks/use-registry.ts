import useSWR from "swr";
import type { RegistryResponse } from "@/lib/schemas/api";
import type { FetchError } from "@/lib/swr/fetcher";
import { KEYS } from "@/lib/swr/keys";

// GET /api/models/registry: every model with its artifact files.
export function useRegistry() {
  return useSWR<RegistryResponse, FetchError>(KEYS.registry);
}
