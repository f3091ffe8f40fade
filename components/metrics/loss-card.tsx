"use client";

import { useId, useMemo, useState } from "react";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { LossChart } from "./loss-chart";
import { LossXAxisPicker } from "./loss-x-axis-picker";
import { PointStats, pointStats } from "./point-stats";
import { divergences, isSinglePoint, LOSS_X_AXES, lossSeries, type Divergence, type LossSeries, type LossXAxis } from "./series";

const NO_SERIES: LossSeries = { train: [], val: [] };

export function LossCard({
  modelKey,
  modelName,
  models,
  onModel,
  logScale,
  onLogScale,
  xAxis,
  onXAxis,
  currency,
  metrics,
  nonFinite,
}: {
  modelKey: string | null;
  modelName: string;
  models: Array<{ key: string; name: string; curves: boolean }>;
  onModel: (key: string) => void;
  logScale: boolean;
  onLogScale: (log: boolean) => void;
  xAxis: LossXAxis;
  onXAxis: (axis: LossXAxis) => void;
  currency: string;
  metrics: Parameters<typeof lossSeries>[0];
  nonFinite: readonly Divergence[];
}) {
  const [smoothing, setSmoothing] = useState(0.6);
  const ids = { title: useId(), model: useId(), smoothing: useId() };
  // By step, whether there are curves at all (and the controls); by the chosen x, what is drawn.
  const steps = useMemo(() => (modelKey ? lossSeries(metrics, modelKey) : NO_SERIES), [metrics, modelKey]);
  const series = useMemo(() => (modelKey && xAxis !== "step" ? lossSeries(metrics, modelKey, xAxis) : steps), [metrics, modelKey, xAxis, steps]);
  const diverged = useMemo(() => (modelKey ? divergences(nonFinite, modelKey) : []), [nonFinite, modelKey]);
  const empty = steps.train.length === 0 && steps.val.length === 0 && diverged.length === 0;
  const single = isSinglePoint(steps.train, steps.val);
  const untimed = series.train.length === 0 && series.val.length === 0;

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
      {diverged.map((d) => (
        <p key={d.series} className="mb-2 text-sm font-medium text-danger" data-testid="loss-diverged">
          {d.series === "train_loss" ? "Training" : "Validation"} loss went NaN or infinite from step {d.first_step} ({d.count} point
          {d.count === 1 ? "" : "s"} left out of the curve)
        </p>
      ))}
      {empty ? (
        <EmptyState data-testid="loss-empty" hint="Curves appear once the run writes trainer_state.json, TensorBoard events or a JSONL log under runs/.">
          No training curves yet for {modelName}
        </EmptyState>
      ) : single ? (
        <PointStats
          testId="loss-stat"
          stats={pointStats([
            ["Training loss", steps.train, 4],
            ["Validation loss", steps.val, 4],
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
            <LossXAxisPicker value={xAxis} onChange={onXAxis} />
          </div>
          {untimed ? (
            <EmptyState
              data-testid="loss-no-x"
              hint="Wall time needs rows that record their time (trainer_state.json rows do not); GPU hours and spend also need hours that come from the runs or vast.ai, not the config."
            >
              No timed points for {modelName}
            </EmptyState>
          ) : (
            <LossChart
              series={series}
              diverged={diverged}
              smoothing={smoothing}
              logScale={logScale}
              xAxis={xAxis}
              currency={currency}
              label={`Training and validation loss of ${modelName} by ${LOSS_X_AXES[xAxis].label}`}
            />
          )}
        </>
      )}
    </Card>
  );
}
