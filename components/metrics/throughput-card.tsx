"use client";

import { useId, useMemo } from "react";
import { Card } from "@/components/ui/card";
import { EmptyState } from "@/components/ui/empty-state";
import { useThroughput } from "@/hooks/use-throughput";
import { PointStats, pointStats } from "./point-stats";
import { isSinglePoint, throughputSeries } from "./series";
import { ThroughputChart } from "./throughput-chart";
import { ThroughputSummary } from "./throughput-summary";

export function ThroughputCard({ modelKey, modelName }: { modelKey: string | null; modelName: string }) {
  const { data } = useThroughput(modelKey);
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
