"use client";

import { useMemo } from "react";
import { useHosts } from "@/hooks/use-hosts";
import { useLiveStream } from "@/hooks/use-live-stream";
import { useModelsStatus } from "@/hooks/use-models-status";
import { useLossIndex, useTrainingLoss } from "@/hooks/use-training-loss";
import { useUrlState } from "@/hooks/use-url-state";
import type { ModelStatus } from "@/lib/schemas/api";
import { LOCAL_HOST } from "@/lib/schemas/config";
import { parseTimeRange } from "@/lib/schemas/time-range";
import { GpuCard } from "./gpu-card";
import { LossCard } from "./loss-card";
import { chooseHost, chooseModel, modelsWithCurves, parseLossXAxis } from "./series";
import { ThroughputCard } from "./throughput-card";

const NO_METRICS: never[] = [];
const NO_MODELS: ModelStatus[] = [];
const NO_HOSTS: string[] = [];

export function MetricsTab({ currency }: { currency: string }) {
  const { searchParams, setParam } = useUrlState();
  const range = parseTimeRange(searchParams.get("range"));
  const hosts = useHosts().data?.hosts;
  const hostNames = useMemo(() => hosts?.map((h) => h.name), [hosts]);
  const host = chooseHost({ requested: searchParams.get("host"), hosts: hostNames });
  const { live, gpuStatus } = useLiveStream({ range, host });
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
      <GpuCard
        range={range}
        host={host}
        hosts={hostNames ?? NO_HOSTS}
        live={live}
        gpuStatus={gpuStatus}
        onRange={(r) => setParam("range", r)}
        onHost={(h) => setParam("host", h === LOCAL_HOST ? null : h)}
      />
      <div className="grid gap-6 min-[1200px]:grid-cols-2">
        <LossCard
          modelKey={modelKey}
          modelName={modelName}
          models={options}
          onModel={(key) => setParam("model", key)}
          logScale={searchParams.get("loss_scale") === "log"}
          onLogScale={(log) => setParam("loss_scale", log ? "log" : null)}
          xAxis={parseLossXAxis(searchParams.get("loss_x"))}
          onXAxis={(axis) => setParam("loss_x", axis === "step" ? null : axis)}
          currency={currency}
          metrics={loss?.metrics ?? NO_METRICS}
          nonFinite={loss?.non_finite ?? NO_METRICS}
        />
        <ThroughputCard modelKey={modelKey} modelName={modelName} />
      </div>
    </div>
  );
}
