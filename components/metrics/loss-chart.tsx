"use client";

import "@/components/charts/register";
import type { ChartData, Plugin } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors, withAlpha } from "@/components/charts/chart-colors";
import { lineChartOptions, linearAxis } from "@/components/charts/line-options";
import { smoothEma } from "./ema";
import type { Divergence, LossSeries, XY } from "./series";

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
// A loss that went NaN or infinite (a diverged run) is marked by a vertical line at its first
// such step, across the range of the values drawn.
export function LossChart({
  series,
  diverged,
  smoothing,
  logScale,
  label,
}: {
  series: LossSeries;
  diverged: Divergence[];
  smoothing: number;
  logScale: boolean;
  label: string;
}) {
  const colors = useChartColors();

  const data = useMemo<ChartData<"line", XY[]>>(() => {
    const [trainColor, valColor] = colors.series;
    const smoothed = smoothEma(
      series.train.map((p) => p.y),
      smoothing,
    );
    const train = series.train.map((p, i) => ({ x: p.x, y: smoothed[i] }));
    let low = Infinity;
    let high = -Infinity;
    for (const p of [...series.train, ...series.val]) {
      if (p.y === null) continue;
      low = Math.min(low, p.y);
      high = Math.max(high, p.y);
    }
    // With no finite value at all there is no range to span: a line from 0 to 1 still shows where.
    const span = low <= high ? [low, high] : [logScale ? 0.1 : 0, 1];
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
        ...diverged.map((d) => ({
          label: `${d.series === "train_loss" ? "Training" : "Validation"} loss NaN or infinite from step ${d.first_step}`,
          data: span.map((y) => ({ x: d.first_step, y })),
          borderColor: colors.series[5],
          backgroundColor: colors.series[5],
          borderWidth: 2,
          borderDash: [6, 4],
          pointRadius: 0,
        })),
      ],
    };
  }, [series, diverged, smoothing, colors, logScale]);

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
