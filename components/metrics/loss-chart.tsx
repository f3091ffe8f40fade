"use client";

import "@/components/charts/register";
import type { ChartData, ChartOptions } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { LEGEND_LABELS, useChartColors, withAlpha } from "@/components/charts/chart-colors";
import { smoothEma } from "./ema";
import type { LossSeries, XY } from "./series";

// Training loss (raw, faint, and smoothed) and validation loss against the step.
export function LossChart({ series, smoothing, label }: { series: LossSeries; smoothing: number; label: string }) {
  const colors = useChartColors();

  const data = useMemo<ChartData<"line", XY[]>>(() => {
    const [trainColor, valColor] = colors.series;
    const smoothed = smoothEma(
      series.train.map((p) => p.y),
      smoothing,
    );
    const train = series.train.map((p, i) => ({ x: p.x, y: smoothed[i] }));
    return {
      datasets: [
        ...(smoothing > 0
          ? [
              {
                label: "Training loss (raw)",
                data: series.train,
                borderColor: withAlpha(trainColor, 0.3),
                backgroundColor: withAlpha(trainColor, 0.3),
                borderWidth: 1,
                pointRadius: 0,
              },
            ]
          : []),
        {
          label: smoothing > 0 ? "Training loss (smoothed)" : "Training loss",
          data: train,
          borderColor: trainColor,
          backgroundColor: trainColor,
          borderWidth: 2,
          // A handful of points reads better as dots than as an invisible thin line.
          pointRadius: series.train.length <= 24 ? 3 : 0,
          pointHoverRadius: 4,
        },
        {
          label: "Validation loss",
          data: series.val,
          borderColor: valColor,
          backgroundColor: valColor,
          borderWidth: 2,
          pointRadius: 3,
          pointHoverRadius: 5,
        },
      ],
    };
  }, [series, smoothing, colors]);

  const options = useMemo<ChartOptions<"line">>(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      color: colors.muted,
      interaction: { mode: "nearest", axis: "x", intersect: false },
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
          title: { display: true, text: "Loss", color: colors.muted },
          ticks: { color: colors.muted },
          grid: { color: colors.grid },
          border: { color: colors.grid },
        },
      },
    }),
    [colors],
  );

  return (
    <ChartBox>
      <Line data={data} options={options} aria-label={label} data-testid="loss-chart" fallbackContent={<p>{label}</p>} />
    </ChartBox>
  );
}
