"use client";

import "@/components/charts/register";
import type { ChartData, ChartOptions } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { LEGEND_LABELS, useChartColors } from "@/components/charts/chart-colors";
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

  const options = useMemo<ChartOptions<"line">>(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      color: colors.muted,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: LEGEND_LABELS(colors.text) },
        tooltip: { callbacks: { title: (items) => (items[0] ? `Step ${items[0].parsed.x}` : "") } },
      },
      scales: {
        x: {
          type: "linear",
          title: { display: true, text: "Step", color: colors.muted },
          ticks: { color: colors.muted, maxRotation: 0 },
          grid: { color: colors.grid },
          border: { color: colors.grid },
        },
        y: {
          type: "linear",
          display: hasSamples,
          position: "left",
          beginAtZero: true,
          title: { display: true, text: "Samples/s", color: colors.muted },
          ticks: { color: colors.muted, callback: (v) => formatCompact(Number(v)) },
          grid: { color: colors.grid },
          border: { color: colors.grid },
        },
        y1: {
          type: "linear",
          display: hasTokens,
          position: "right",
          beginAtZero: true,
          title: { display: true, text: "Tokens/s", color: colors.muted },
          ticks: { color: colors.muted, callback: (v) => formatCompact(Number(v)) },
          grid: { drawOnChartArea: false },
          border: { color: colors.grid },
        },
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
