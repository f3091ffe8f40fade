import type { z } from "zod";
import type { gpuProcessSchema, gpuReadingSchema, GpuSnapshot } from "@/lib/schemas/api";

// The API's shapes (lib/schemas/api.ts), named for the parser and the poller.
export type { GpuSnapshot };
export type GpuReading = z.infer<typeof gpuReadingSchema>;
export type GpuProcess = z.infer<typeof gpuProcessSchema>;
export type ComputeApp = GpuProcess & { gpu_uuid: string };
export type GpuSourceKind = GpuSnapshot["source"];
export type GpuStatus = GpuSnapshot["status"];
