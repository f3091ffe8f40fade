"use client";

import { useMemo } from "react";
import { useLiveStream } from "@/hooks/use-live-stream";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useLossIndex, useTrainingLoss } from "@/hooks/use-training-loss";
import { useUrlState } from "@/hooks/use-url-state";
import type { ModelStatus } from "@/lib/schemas/api";
import { parseTimeRange } from "@/lib/schemas/time-range";
import { GpuCard } from "./gpu-card";
import { LossCard } from "./loss-card";
import { chooseModel, modelsWithCurves } from "./series";
import { ThroughputCard } from "./throughput-card";

const NO_METRICS: never[] = [];
const NO_MODELS: ModelStatus[] = [];

export function MetricsTab() {
  const { searchParams, setParam } = useUrlState();
  const range = parseTimeRange(searchParams.get("range"));
  const { live, gpuStatus } = useLiveStream({ range });
  const models = useModelsStatus().data?.models ?? NO_MODELS;
  const index = useLossIndex().data;
  const withCurves = useMemo(() => modelsWithCurves(index?.metrics ?? []), [index]);
  const options = useMemo(() => {
    const curves = new Set(withCurves);
    return models.map((m) => ({ key: m.key, name: m.name, curves: curves.has(m.key) }));
  }, [models, withCurves]);
  const modelKey = chooseModel({ requested: searchParams.get("model"), models, withCurves });
  const loss = useTrainingLoss(modelKey).data;
  const modelName = models.find((m) => m.key === modelKey)?.name ?? modelKey ?? "this model";

  return (
    <div className="grid gap-6">
      <GpuCard range={range} live={live} gpuStatus={gpuStatus} onRange={(r) => setParam("range", r)} />
      <div className="grid gap-6 min-[1200px]:grid-cols-2">
        <LossCard
          modelKey={modelKey}
          modelName={modelName}
          models={options}
          onModel={(key) => setParam("model", key)}
          logScale={searchParams.get("loss_scale") === "log"}
          onLogScale={(log) => setParam("loss_scale", log ? "log" : null)}
          metrics={loss?.metrics ?? NO_METRICS}
          nonFinite={loss?.non_finite ?? NO_METRICS}
        />
        <ThroughputCard modelKey={modelKey} modelName={modelName} />
      </div>
    </div>
  );
}
