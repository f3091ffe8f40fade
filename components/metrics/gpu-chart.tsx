"use client";

import "@/components/charts/register";
import type { ChartData } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors, withAlpha } from "@/components/charts/chart-colors";
import { lineChartOptions, linearAxis, timeFormat } from "@/components/charts/line-options";
import type { GpuSeries, XY } from "./series";

function extentOf(series: GpuSeries): { min: number; max: number } | null {
  const xs = series.gpus.flatMap((g) => [g.utilization[0]?.x, g.utilization.at(-1)?.x]).filter((x): x is number => x !== undefined);
  return xs.length ? { min: xs.reduce((a, b) => Math.min(a, b)), max: xs.reduce((a, b) => Math.max(a, b)) } : null;
}

// Utilization (%) on the left axis, memory used (GB) on the right, whose maximum is the card's
// real total memory as the data reports it.
export function GpuChart({ series, label }: { series: GpuSeries; label: string }) {
  const colors = useChartColors();
  const multi = series.gpus.length > 1;

  const data = useMemo<ChartData<"line", XY[]>>(
    () => ({
      datasets: series.gpus.flatMap((gpu, i) => {
        const utilColor = colors.series[(2 * i) % colors.series.length];
        const memColor = colors.series[(2 * i + 1) % colors.series.length];
        const name = multi ? `GPU ${gpu.index} ` : "";
        return [
          {
            label: `${name}Utilization (%)`,
            data: gpu.utilization,
            yAxisID: "y",
            borderColor: utilColor,
            backgroundColor: withAlpha(utilColor, 0.15),
            fill: !multi,
            borderWidth: 2,
            pointRadius: 0,
            pointHoverRadius: 3,
          },
          {
            label: `${name}Memory used (GB)`,
            data: gpu.memory,
            yAxisID: "y1",
            borderColor: memColor,
            backgroundColor: memColor,
            borderDash: [6, 4],
            borderWidth: 2,
            pointRadius: 0,
            pointHoverRadius: 3,
          },
        ];
      }),
    }),
    [series, colors, multi],
  );

  const options = useMemo(() => {
    const extent = extentOf(series);
    const fmt = timeFormat(extent ? extent.max - extent.min : 0);
    return lineChartOptions({
      colors,
      interaction: { mode: "index", intersect: false },
      title: (x) => fmt.format(x),
      scales: {
        // The time axis spans the samples exactly, not the next round tick.
        x: linearAxis({
          colors,
          options: {
            ...(extent && extent.max > extent.min ? extent : {}),
            ticks: { maxTicksLimit: 6, maxRotation: 0, callback: (v) => fmt.format(Number(v)) },
          },
        }),
        y: linearAxis({ colors, label: "Utilization (%)", side: "left", options: { min: 0, max: 100 } }),
        y1: linearAxis({
          colors,
          label: "Memory (GB)",
          side: "right",
          options: { min: 0, ...(series.memoryTotalGb !== null ? { max: Math.ceil(series.memoryTotalGb) } : {}) },
        }),
      },
    });
  }, [colors, series]);

  return (
    <ChartBox>
      <Line data={data} options={options} aria-label={label} data-testid="gpu-chart" fallbackContent={<p>{label}</p>} />
    </ChartBox>
  );
}
