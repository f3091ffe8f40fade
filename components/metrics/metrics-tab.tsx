"use client";

import { useMemo } from "react";
import { useLiveStream } from "@/hooks/use-live-stream";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useTrainingLoss } from "@/hooks/use-training-loss";
import { useUrlState } from "@/hooks/use-url-state";
import { parseTimeRange } from "@/lib/schemas/time-range";
import { GpuCard } from "./gpu-card";
import { LossCard } from "./loss-card";
import { modelsWithCurves } from "./series";
import { ThroughputCard } from "./throughput-card";

const NO_METRICS: never[] = [];

export function MetricsTab() {
  const { searchParams, setParam } = useUrlState();
  const range = parseTimeRange(searchParams.get("range"));
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
