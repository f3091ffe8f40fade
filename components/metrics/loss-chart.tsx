"use client";

import "@/components/charts/register";
import type { ChartData, Plugin } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors, withAlpha } from "@/components/charts/chart-colors";
import { lineChartOptions, linearAxis } from "@/components/charts/line-options";
import { smoothEma } from "./ema";
import type { LossSeries, XY } from "./series";

// The y scale the chart really drew, on the canvas as data-y-scale, for tests and scripts.
const reportYScale: Plugin<"line"> = {
  id: "reportYScale",
  afterLayout: (chart) => {
    chart.canvas.dataset.yScale = chart.scales.y?.type;
  },
};
const PLUGINS = [reportYScale];

// Training loss (raw, faint, and smoothed) and validation loss against the step, on a linear or
// a log y axis (a loss that falls by orders of magnitude).
export function LossChart({ series, smoothing, logScale, label }: { series: LossSeries; smoothing: number; logScale: boolean; label: string }) {
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
                // Faint beside the smoothed line, yet readable on both themes' backgrounds.
                borderColor: withAlpha(trainColor, 0.55),
                backgroundColor: withAlpha(trainColor, 0.55),
                borderWidth: 1.5,
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
          y: linearAxis({ colors, label: "Loss", options: logScale ? { type: "logarithmic" } : {} }),
        },
      }),
    [colors, logScale],
  );

  return (
    <ChartBox>
      <Line data={data} options={options} plugins={PLUGINS} aria-label={label} data-testid="loss-chart" fallbackContent={<p>{label}</p>} />
    </ChartBox>
  );
}
