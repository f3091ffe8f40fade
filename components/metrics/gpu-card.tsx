"use client";

import { useId, useMemo } from "react";
import { formatNumber } from "@/components/format";
import { Chip } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { useGpuUtilization } from "@/hooks/use-gpu-utilization";
import type { GpuSnapshot } from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { TIME_RANGE_LABELS, type TimeRange } from "@/lib/schemas/time-range";
import { GpuChart } from "./gpu-chart";
import { gpuLive, gpuUnavailable } from "./gpu-source";
import { RangePicker } from "./range-picker";
import { ReplayChip } from "./replay-chip";
import { gpuSeries, hasGpuData } from "./series";

const NO_GPU = "No NVIDIA GPU detected on this host";

export function GpuCard({
  range,
  host,
  hosts,
  live,
  gpuStatus,
  onRange,
  onHost,
}: {
  range: TimeRange;
  host: string;
  hosts: string[];
  live: boolean;
  gpuStatus: GpuSnapshot["status"] | null;
  onRange: (range: TimeRange) => void;
  onHost: (host: string) => void;
}) {
  // Live once this host's own samples arrive: a host whose readings do not reach the stream is polled.
  const streaming = live && gpuStatus !== null;
  const { data, isValidating } = useGpuUtilization({ range, host, live: streaming });
  const ids = { title: useId(), host: useId() };
  const series = useMemo(() => (data ? gpuSeries(data.metrics) : null), [data]);
  const unavailable = gpuUnavailable(data, gpuStatus);
  const latest = series?.gpus[0]?.memory.at(-1)?.y ?? null;

  return (
    <Card
      title="GPU utilization and memory"
      titleId={ids.title}
      data-testid="gpu-card"
      aria-busy={isValidating}
      actions={
        <>
          {data?.source === "replay" && <ReplayChip data-testid="gpu-source" />}
          {gpuLive({ streaming, data, status: gpuStatus }) && <Chip title="Receiving samples as they are taken">live</Chip>}
          {/* With this machine alone there is nothing to choose. */}
          {hosts.length > 1 && (
            <>
              <label htmlFor={ids.host} className="text-sm text-muted">
                Host
              </label>
              <select id={ids.host} data-testid="gpu-host" className="input" value={host} onChange={(e) => onHost(e.target.value)}>
                {hosts.map((h) => (
                  <option key={h} value={h}>
                    {h}
                  </option>
                ))}
              </select>
            </>
          )}
          <RangePicker value={range} onChange={onRange} />
        </>
      }
    >
      {!hasGpuData(data) ? (
        <EmptyState data-testid="gpu-empty" hint={unavailable ? "GPU telemetry needs nvidia-smi on the server, or AFS_GPU_SOURCE=replay:<file> to replay a capture." : undefined}>
          {unavailable ? NO_GPU : `No GPU samples in the last ${TIME_RANGE_LABELS[range]}`}
        </EmptyState>
      ) : (
        <>
          <p className="mb-3 text-sm text-muted">
            {unavailable ? (
              <>{NO_GPU} now; the history below was recorded earlier.</>
            ) : (
              <>
                Now{" "}
                <span className="font-semibold text-fg tabular-nums">
                  {data.current_utilization === null ? "—" : `${formatNumber(data.current_utilization, 1)}%`}
                </span>
              </>
            )}
            {latest !== null && series?.memoryTotalGb != null && (
              <>
                {" "}
                · memory{" "}
                <span className="font-semibold text-fg tabular-nums">
                  {formatNumber(latest, 1)} of {formatNumber(series.memoryTotalGb, 1)} GB
                </span>
              </>
            )}
            {data.source === "replay" && " · replay of a recorded capture, not this host's GPU"}
          </p>
          <GpuChart
            series={series!}
            label={`GPU utilization (%) and memory used (GB)${host === LOCAL_HOST ? "" : ` on ${host}`}, last ${TIME_RANGE_LABELS[range]}${data.source === "replay" ? ", replay" : ""}`}
          />
        </>
      )}
    </Card>
  );
}
