"use client";

import "@/components/charts/register";
import type { ChartData } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors } from "@/components/charts/chart-colors";
import { lineChartOptions, linearAxis } from "@/components/charts/line-options";
import { formatCompact } from "@/components/format";
import type { ThroughputSeries, XY } from "./series";

// Samples/s on the left axis and tokens/s on the right, against the step.
export function ThroughputChart({ series, label }: { series: ThroughputSeries; label: string }) {
  const colors = useChartColors();
  const hasTokens = series.tokens.length > 0;
  const hasSamples = series.samples.length > 0;
  // Sparse series (a run's summary rows) show their points; dense ones are lines.
  const pointRadius = series.samples.length + series.tokens.length <= 24 ? 4 : 0;

  const data = useMemo<ChartData<"line", XY[]>>(
    () => ({
      datasets: [
        ...(hasSamples
          ? [
              {
                label: "Samples/s",
                data: series.samples,
                yAxisID: "y",
                borderColor: colors.series[2],
                backgroundColor: colors.series[2],
                borderWidth: 2,
                pointRadius,
                pointHoverRadius: pointRadius + 2,
              },
            ]
          : []),
        ...(hasTokens
          ? [
              {
                label: "Tokens/s",
                data: series.tokens,
                yAxisID: "y1",
                borderColor: colors.series[3],
                backgroundColor: colors.series[3],
                borderDash: [6, 4],
                borderWidth: 2,
                pointRadius,
                pointHoverRadius: pointRadius + 2,
              },
            ]
          : []),
      ],
    }),
    [series, colors, hasSamples, hasTokens, pointRadius],
  );

  const options = useMemo(
    () =>
      lineChartOptions({
        colors,
        interaction: { mode: "index", intersect: false },
        title: (x) => `Step ${x}`,
        scales: {
          x: linearAxis({ colors, label: "Step", options: { ticks: { maxRotation: 0 } } }),
          y: linearAxis({ colors, label: "Samples/s", side: "left", options: { display: hasSamples, beginAtZero: true, ticks: { callback: (v) => formatCompact(Number(v)) } } }),
          y1: linearAxis({ colors, label: "Tokens/s", side: "right", options: { display: hasTokens, beginAtZero: true, ticks: { callback: (v) => formatCompact(Number(v)) } } }),
        },
      }),
    [colors, hasSamples, hasTokens],
  );

  return (
    <ChartBox>
      <Line data={data} options={options} aria-label={label} data-testid="throughput-chart" fallbackContent={<p>{label}</p>} />
    </ChartBox>
  );
}
