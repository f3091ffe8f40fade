import type { ChartOptions, TooltipItem } from "chart.js";
import { LEGEND_LABELS, type ChartColors } from "./chart-colors";

type Axis = NonNullable<ChartOptions<"line">["scales"]>[string];

// What every line chart here shares: drawn at once (no animation), themed, legend below, the
// tooltip titled by its x value.
export function lineChartOptions({
  colors,
  interaction,
  title,
  scales,
}: {
  colors: ChartColors;
  interaction: ChartOptions<"line">["interaction"];
  title: (x: number) => string;
  scales: Record<string, Axis>;
}): ChartOptions<"line"> {
  return {
    responsive: true,
    maintainAspectRatio: false,
    animation: false,
    color: colors.muted,
    interaction,
    plugins: {
      legend: { position: "bottom", labels: LEGEND_LABELS(colors.text) },
      tooltip: { callbacks: { title: (items: TooltipItem<"line">[]) => (items[0] ? title(items[0].parsed.x ?? 0) : "") } },
    },
    scales,
  };
}

// A linear axis in the theme's colours; a second y axis on the right draws no grid of its own.
// `options` adds to it (range, ticks, display) or changes it (type: "logarithmic").
export function linearAxis({
  colors,
  label,
  side,
  options = {},
}: {
  colors: ChartColors;
  label?: string;
  side?: "left" | "right";
  options?: Axis;
}): Axis {
  return {
    type: "linear",
    ...(side && { position: side }),
    ...(label && { title: { display: true, text: label, color: colors.muted } }),
    grid: side === "right" ? { drawOnChartArea: false } : { color: colors.grid },
    border: { color: colors.grid },
    ...options,
    ticks: { color: colors.muted, ...options.ticks },
  } as Axis;
}

// Tick labels for a time axis (epoch ms) as fine as the data's span needs: seconds for minutes
// of data, dates for days.
export const timeFormat = (spanMs: number) =>
  new Intl.DateTimeFormat("en-US", {
    ...(spanMs > 36 * 3_600_000 ? { month: "short", day: "numeric" } : {}),
    hour: "2-digit",
    minute: "2-digit",
    ...(spanMs < 20 * 60_000 ? { second: "2-digit" } : {}),
    hourCycle: "h23",
  });
