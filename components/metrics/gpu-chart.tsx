"use client";

import "@/components/charts/register";
import type { ChartData, ChartOptions } from "chart.js";
import { useMemo } from "react";
import { Line } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { LEGEND_LABELS, useChartColors, withAlpha } from "@/components/charts/chart-colors";
import type { GpuSeries, XY } from "./series";

// Tick labels as fine as the data's span needs: seconds for minutes of data, dates for days.
const timeFormat = (spanMs: number) =>
  new Intl.DateTimeFormat("en-US", {
    ...(spanMs > 36 * 3_600_000 ? { month: "short", day: "numeric" } : {}),
    hour: "2-digit",
    minute: "2-digit",
    ...(spanMs < 20 * 60_000 ? { second: "2-digit" } : {}),
    hourCycle: "h23",
  });

function extentOf(series: GpuSeries): { min: number; max: number } | null {
  const xs = series.gpus.flatMap((g) => [g.utilization[0]?.x, g.utilization.at(-1)?.x]).filter((x): x is number => x !== undefined);
  return xs.length ? { min: Math.min(...xs), max: Math.max(...xs) } : null;
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

  const options = useMemo<ChartOptions<"line">>(() => {
    const extent = extentOf(series);
    const fmt = timeFormat(extent ? extent.max - extent.min : 0);
    return {
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      color: colors.muted,
      interaction: { mode: "index", intersect: false },
      plugins: {
        legend: { position: "bottom", labels: LEGEND_LABELS(colors.text) },
        tooltip: { callbacks: { title: (items) => (items[0] ? fmt.format(items[0].parsed.x ?? 0) : "") } },
      },
      scales: {
        x: {
          type: "linear",
          // The axis spans the samples exactly, not the next round tick.
          ...(extent && extent.max > extent.min ? extent : {}),
          ticks: { color: colors.muted, maxTicksLimit: 6, maxRotation: 0, callback: (v) => fmt.format(Number(v)) },
          grid: { color: colors.grid },
          border: { color: colors.grid },
        },
        y: {
          type: "linear",
          position: "left",
          min: 0,
          max: 100,
          title: { display: true, text: "Utilization (%)", color: colors.muted },
          ticks: { color: colors.muted },
          grid: { color: colors.grid },
          border: { color: colors.grid },
        },
        y1: {
          type: "linear",
          position: "right",
          min: 0,
          ...(series.memoryTotalGb !== null ? { max: Math.ceil(series.memoryTotalGb) } : {}),
          title: { display: true, text: "Memory (GB)", color: colors.muted },
          ticks: { color: colors.muted },
          grid: { drawOnChartArea: false },
          border: { color: colors.grid },
        },
      },
    };
  }, [colors, series]);

  return (
    <ChartBox>
      <Line data={data} options={options} aria-label={label} data-testid="gpu-chart" fallbackContent={<p>{label}</p>} />
    </ChartBox>
  );
}
