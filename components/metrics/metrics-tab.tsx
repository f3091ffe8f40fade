"use client";

import { useId, useMemo, useState } from "react";
import { Chip } from "@/components/ui/badge";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { formatNumber } from "@/components/format";
import { useGpuUtilization } from "@/hooks/use-gpu-utilization";
import { useLiveStream } from "@/hooks/use-live-stream";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useThroughput } from "@/hooks/use-throughput";
import { useTrainingLoss } from "@/hooks/use-training-loss";
import { useUrlState } from "@/hooks/use-url-state";
import type { GpuSnapshot } from "@/lib/schemas/api";
import { parseRange, type TimeRangeOption } from "@/lib/swr/keys";
import { GpuChart } from "./gpu-chart";
import { gpuLive, gpuUnavailable } from "./gpu-source";
import { LossChart } from "./loss-chart";
import { PointStats, type PointStat } from "./point-stats";
import { RangePicker, rangeLabel } from "./range-picker";
import { gpuSeries, hasGpuData, isSinglePoint, lossSeries, modelsWithCurves, throughputSeries, type XY } from "./series";
import { ThroughputChart } from "./throughput-chart";

const NO_GPU = "No NVIDIA GPU detected on this host";
const NO_METRICS: never[] = [];

export function MetricsTab() {
  const { searchParams, setParam } = useUrlState();
  const range = parseRange(searchParams.get("range"));
  const { live, gpuStatus } = useLiveStream({ range });
  const models = useModelsStatus().data?.models ?? [];
  const loss = useTrainingLoss().data;
  const withCurves = useMemo(() => modelsWithCurves(loss?.metrics ?? []), [loss]);
  const requested = searchParams.get("model");
  const modelKey = models.find((m) => m.key === requested)?.key ?? withCurves[0] ?? models[0]?.key ?? null;
  const modelName = models.find((m) => m.key === modelKey)?.name ?? modelKey ?? "this model";

  return (
    <div className="grid gap-6">
      <GpuCard range={range} live={live} gpuStatus={gpuStatus} onRange={(r) => setParam("range", r)} />
      <div className="grid gap-6 min-[1200px]:grid-cols-2">
        <LossCard
          modelKey={modelKey}
          modelName={modelName}
          models={models.map((m) => ({ key: m.key, name: m.name, curves: withCurves.includes(m.key) }))}
          onModel={(key) => setParam("model", key)}
          logScale={searchParams.get("loss_scale") === "log"}
          onLogScale={(log) => setParam("loss_scale", log ? "log" : null)}
          metrics={loss?.metrics ?? NO_METRICS}
        />
        <ThroughputCard modelKey={modelKey} modelName={modelName} />
      </div>
    </div>
  );
}

function GpuCard({
  range,
  live,
  gpuStatus,
  onRange,
}: {
  range: TimeRangeOption;
  live: boolean;
  gpuStatus: GpuSnapshot["status"] | null;
  onRange: (range: TimeRangeOption) => void;
}) {
  const { data, isValidating } = useGpuUtilization({ range, live });
  const titleId = useId();
  const series = useMemo(() => (data ? gpuSeries(data.metrics) : null), [data]);
  const unavailable = gpuUnavailable(data, gpuStatus);
  const latest = series?.gpus[0]?.memory.at(-1)?.y ?? null;

  return (
    <Card
      title="GPU utilization and memory"
      titleId={titleId}
      data-testid="gpu-card"
      aria-busy={isValidating}
      actions={
        <>
          {data?.source === "replay" && (
            <Chip tone="accent" data-testid="gpu-source" title="Replaying a recorded nvidia-smi capture, not this host's GPU">
              replay
            </Chip>
          )}
          {gpuLive({ streaming: live, data, status: gpuStatus }) && <Chip title="Receiving samples as they are taken">live</Chip>}
          <RangePicker value={range} onChange={onRange} />
        </>
      }
    >
      {!hasGpuData(data) ? (
        <EmptyState data-testid="gpu-empty" hint={unavailable ? "GPU telemetry needs nvidia-smi on the server, or AFS_GPU_SOURCE=replay:<file> to replay a capture." : undefined}>
          {unavailable ? NO_GPU : `No GPU samples in the last ${rangeLabel(range)}`}
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
          <GpuChart series={series!} label={`GPU utilization (%) and memory used (GB), last ${rangeLabel(range)}${data.source === "replay" ? ", replay" : ""}`} />
        </>
      )}
    </Card>
  );
}

function LossCard({
  modelKey,
  modelName,
  models,
  onModel,
  logScale,
  onLogScale,
  metrics,
}: {
  modelKey: string | null;
  modelName: string;
  models: Array<{ key: string; name: string; curves: boolean }>;
  onModel: (key: string) => void;
  logScale: boolean;
  onLogScale: (log: boolean) => void;
  metrics: Parameters<typeof lossSeries>[0];
}) {
  const [smoothing, setSmoothing] = useState(0.6);
  const ids = { title: useId(), model: useId(), smoothing: useId() };
  const series = useMemo(() => (modelKey ? lossSeries(metrics, modelKey) : { train: [], val: [] }), [metrics, modelKey]);
  const empty = series.train.length === 0 && series.val.length === 0;
  const single = isSinglePoint(series.train, series.val);

  return (
    <Card
      title="Training and validation loss"
      titleId={ids.title}
      data-testid="loss-card"
      actions={
        <>
          <label htmlFor={ids.model} className="text-sm text-muted">
            Model
          </label>
          <select id={ids.model} data-testid="loss-model" className="input" value={modelKey ?? ""} onChange={(e) => onModel(e.target.value)}>
            {models.map((m) => (
              <option key={m.key} value={m.key}>
                {m.name}
                {m.curves ? "" : " (no curves)"}
              </option>
            ))}
          </select>
        </>
      }
    >
      {empty ? (
        <EmptyState data-testid="loss-empty" hint="Curves appear once the run writes trainer_state.json, TensorBoard events or a JSONL log under runs/.">
          No training curves yet for {modelName}
        </EmptyState>
      ) : single ? (
        <PointStats
          testId="loss-stat"
          stats={pointStats([
            ["Training loss", series.train, 4],
            ["Validation loss", series.val, 4],
          ])}
        />
      ) : (
        <>
          <div className="mb-3 flex flex-wrap items-center gap-x-6 gap-y-2 text-sm">
            <div className="flex items-center gap-3">
              <label htmlFor={ids.smoothing} className="text-muted">
                Smoothing
              </label>
              <input
                id={ids.smoothing}
                type="range"
                min={0}
                max={0.99}
                step={0.01}
                value={smoothing}
                onChange={(e) => setSmoothing(Number(e.target.value))}
                className="slider w-40 max-w-full"
                data-testid="smoothing"
              />
              <output htmlFor={ids.smoothing} className="w-10 tabular-nums">
                {smoothing.toFixed(2)}
              </output>
            </div>
            <label className="flex items-center gap-2 text-muted">
              <input type="checkbox" checked={logScale} onChange={(e) => onLogScale(e.target.checked)} className="accent-primary" data-testid="loss-log-scale" />
              Log scale
            </label>
          </div>
          <LossChart series={series} smoothing={smoothing} logScale={logScale} label={`Training and validation loss of ${modelName} by step`} />
        </>
      )}
    </Card>
  );
}

function ThroughputCard({ modelKey, modelName }: { modelKey: string | null; modelName: string }) {
  const { data } = useThroughput();
  const titleId = useId();
  const series = useMemo(() => (modelKey && data ? throughputSeries(data.metrics, modelKey) : { samples: [], tokens: [] }), [data, modelKey]);
  const empty = series.samples.length === 0 && series.tokens.length === 0;
  const single = isSinglePoint(series.samples, series.tokens);
  return (
    // A lone stat keeps its own height rather than stretching to the loss chart's beside it.
    <Card title={`Throughput · ${modelName}`} titleId={titleId} data-testid="throughput-card" className={single ? "self-start" : ""}>
      {empty ? (
        <EmptyState data-testid="throughput-empty">No throughput data yet for {modelName}</EmptyState>
      ) : single ? (
        <PointStats
          testId="throughput-stat"
          stats={pointStats([
            ["Samples/s", series.samples, 1],
            ["Tokens/s", series.tokens, 0],
          ])}
        />
      ) : (
        <>
          <ThroughputSummary series={series} />
          <ThroughputChart series={series} label={`Samples and tokens per second of ${modelName} by step`} />
        </>
      )}
    </Card>
  );
}

// The stat of each series that has a point: [label, series, fraction digits].
function pointStats(entries: Array<[string, XY[], number]>): PointStat[] {
  return entries.flatMap(([label, points, digits]) => (points[0] ? [{ label, point: points[0], digits }] : []));
}

// The latest measurement in words, above the chart.
function ThroughputSummary({ series }: { series: ReturnType<typeof throughputSeries> }) {
  const samples = series.samples.at(-1);
  const tokens = series.tokens.at(-1);
  const count = Math.max(series.samples.length, series.tokens.length);
  return (
    <p className="mb-3 text-sm text-muted">
      Latest{" "}
      {samples && (
        <span className="font-semibold text-fg tabular-nums">{formatNumber(samples.y ?? 0, 1)} samples/s</span>
      )}
      {samples && tokens && " · "}
      {tokens && <span className="font-semibold text-fg tabular-nums">{formatNumber(tokens.y ?? 0)} tokens/s</span>} at step{" "}
      {formatNumber((samples ?? tokens)!.x)} · {count} measurements
    </p>
  );
}
