"use client";

import "@/components/charts/register";
import type { ChartData, ChartOptions } from "chart.js";
import { useMemo } from "react";
import { Doughnut } from "react-chartjs-2";
import { ChartBox } from "@/components/charts/chart-box";
import { useChartColors } from "@/components/charts/chart-colors";
import { formatMoney, formatShare } from "@/components/format";
import type { CostSlice } from "./slices";


export function CostDoughnut({ slices, currency }: { slices: CostSlice[]; currency: string }) {
  const colors = useChartColors();
  const data = useMemo<ChartData<"doughnut", number[], string>>(
    () => ({
      labels: slices.map((s) => s.name),
      datasets: [
        {
          label: "Cost",
          data: slices.map((s) => s.cost),
          backgroundColor: slices.map((_, i) => colors.series[i % colors.series.length]),
          borderColor: colors.card,
          borderWidth: 2,
          hoverOffset: 6,
        },
      ],
    }),
    [slices, colors],
  );
  const options = useMemo<ChartOptions<"doughnut">>(
    () => ({
      responsive: true,
      maintainAspectRatio: false,
      animation: false,
      cutout: "62%",
      color: colors.muted,
      plugins: {
        legend: { position: "bottom", labels: { color: colors.text, boxWidth: 12, boxHeight: 12, padding: 12 } },
        tooltip: {
          callbacks: {
            label: (item) => {
              const s = slices[item.dataIndex];
              return s ? ` ${formatMoney(s.cost, currency)} (${formatShare(s.share)})` : "";
            },
          },
        },
      },
    }),
    [colors, slices, currency],
  );
  const label = `Cost by model: ${slices.map((s) => `${s.name} ${formatMoney(s.cost, currency)}`).join(", ")}`;
  return (
    <ChartBox height="h-80">
      <Doughnut data={data} options={options} aria-label={label} data-testid="cost-chart" fallbackContent={<p>{label}</p>} />
    </ChartBox>
  );
}
