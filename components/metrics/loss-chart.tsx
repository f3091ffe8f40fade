"use client";

import "@/components/charts/register";
import type { ChartData, Plugin } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors, withAlpha } from "@/components/charts/chart-colors";
import { lineChartOptions, linearAxis, timeFormat } from "@/components/charts/line-options";
import { formatMoney, formatNumber } from "@/components/format";
import { smoothEma } from "./ema";
import { LOSS_X_AXES, type Divergence, type LossSeries, type LossXAxis, type XY } from "./series";

// The scales the chart really drew, on the canvas for tests and scripts: the y scale's type as
// data-y-scale, the x axis's tick labels as data-x-ticks.
const reportScales: Plugin<"line"> = {
  id: "reportScales",
  afterLayout: (chart) => {
    chart.canvas.dataset.yScale = chart.scales.y?.type;
    chart.canvas.dataset.xTicks = chart.scales.x?.ticks.map((t) => t.label).join(" | ");
  },
};
const PLUGINS = [reportScales];

// How an x value reads on the axis (Chart.js's own numbers for steps and hours, which keep the
// digits small spans need) and in the tooltip's title.
function xFormat(xAxis: LossXAxis, series: LossSeries, currency: string): { tick?: (x: number) => string; title: (x: number) => string } {
  switch (xAxis) {
    case "step":
      return { title: (x) => `Step ${x}` };
    case "time": {
      const xs = [...series.train, ...series.val].map((p) => p.x);
      const fmt = timeFormat(xs.length ? xs.reduce((a, b) => Math.max(a, b)) - xs.reduce((a, b) => Math.min(a, b)) : 0);
      return { tick: (x) => fmt.format(x), title: (x) => fmt.format(x) };
    }
    case "gpu_hours":
      return { title: (x) => `${formatNumber(x, 3)} GPU hours` };
    case "cost":
      return { tick: (x) => formatMoney(x, currency), title: (x) => `${formatMoney(x, currency)} spent` };
  }
}

// Training loss (raw, faint, and smoothed) and validation loss against the step, the wall time,
// the GPU hours or the spend, on a linear or a log y axis (a loss that falls by orders of magnitude).
// A loss that went NaN or infinite (a diverged run) is marked by a vertical line at its first
// such step, across the range of the values drawn; on the step axis only, as the points it left
// out carry no time.
export function LossChart({
  series,
  diverged,
  smoothing,
  logScale,
  xAxis,
  currency,
  label,
}: {
  series: LossSeries;
  diverged: Divergence[];
  smoothing: number;
  logScale: boolean;
  xAxis: LossXAxis;
  currency: string;
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
        ...(xAxis === "step" ? diverged : []).map((d) => ({
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
  }, [series, diverged, smoothing, colors, logScale, xAxis]);

  const options = useMemo(() => {
    const { tick, title } = xFormat(xAxis, series, currency);
    const label = xAxis === "cost" ? `Spend (${currency})` : LOSS_X_AXES[xAxis].label;
    return lineChartOptions({
      colors,
      interaction: { mode: "nearest", axis: "x", intersect: false },
      title,
      scales: {
        // Formatted labels are wider than bare numbers: fewer of them, so they never overlap.
        x: linearAxis({ colors, label, options: { ticks: { maxRotation: 0, ...(tick && { maxTicksLimit: 6, callback: (v) => tick(Number(v)) }) } } }),
        y: linearAxis({ colors, label: "Loss", options: logScale ? { type: "logarithmic" } : {} }),
      },
    });
  }, [colors, logScale, xAxis, series, currency]);

  return (
    <ChartBox>
      <Line
        data={data}
        options={options}
        plugins={PLUGINS}
        aria-label={label}
        data-testid="loss-chart"
        data-x-axis={xAxis}
        fallbackContent={<p>{label}</p>}
      />
    </ChartBox>
  );
}
