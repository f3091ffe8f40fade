"use client";

import "@/components/charts/register";
import type { ChartData } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors, withAlpha } from "@/components/charts/chart-colors";
import { lineChartOptions, linearAxis } from "@/components/charts/line-options";
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

  const options = useMemo(
    () =>
      lineChartOptions({
        colors,
        interaction: { mode: "nearest", axis: "x", intersect: false },
        title: (x) => `Step ${x}`,
        scales: {
          x: linearAxis({ colors, label: "Step", options: { ticks: { maxRotation: 0 } } }),
          y: linearAxis({ colors, label: "Loss" }),
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
