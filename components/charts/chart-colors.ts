"use client";

import { useEffect, useMemo, useState } from "react";
import { flushSync } from "react-dom";
import { useTheme } from "@/components/theme/theme-provider";
import type { Theme } from "@/lib/theme";

export type ChartColors = { text: string; muted: string; grid: string; card: string; series: string[] };

// The dark theme's values, for the server render (charts draw only in the browser).
const DARK: ChartColors = {
  text: "#eceff1",
  muted: "#9aa5b1",
  grid: "rgba(255, 255, 255, 0.08)",
  card: "#1a1f28",
  series: ["#2196f3", "#ffb74d", "#66bb6a", "#ba68c8", "#4dd0e1", "#f06292"],
};

// The CSS variables in effect on <html>, or those of another theme read from a hidden probe.
function readColors(theme?: Theme): ChartColors {
  if (typeof document === "undefined") return DARK;
  let probe: HTMLElement | null = null;
  if (theme) {
    probe = document.createElement("div");
    probe.dataset.theme = theme;
    probe.hidden = true;
    document.body.appendChild(probe);
  }
  try {
    const style = getComputedStyle(probe ?? document.documentElement);
    const css = (name: string, fallback: string) => style.getPropertyValue(name).trim() || fallback;
    return {
      text: css("--color-text", DARK.text),
      muted: css("--color-text-muted", DARK.muted),
      grid: css("--chart-grid", DARK.grid),
      card: css("--color-bg-secondary", DARK.card),
      series: DARK.series.map((fallback, i) => css(`--chart-${i + 1}`, fallback)),
    };
  } finally {
    probe?.remove();
  }
}

// True while the page is being printed. The switch is rendered synchronously, so the charts are
// redrawn in print colours before the browser lays out the printout.
function usePrinting(): boolean {
  const [printing, setPrinting] = useState(false);
  useEffect(() => {
    const before = () => flushSync(() => setPrinting(true));
    const after = () => setPrinting(false);
    window.addEventListener("beforeprint", before);
    window.addEventListener("afterprint", after);
    return () => {
      window.removeEventListener("beforeprint", before);
      window.removeEventListener("afterprint", after);
    };
  }, []);
  return printing;
}

// Chart colours come from the theme's CSS variables (app/globals.css), read again whenever the
// theme changes, so a toggle recolours every chart at once; printing uses the light theme's.
export function useChartColors(): ChartColors {
  const { theme } = useTheme();
  const printing = usePrinting();
  // eslint-disable-next-line react-hooks/exhaustive-deps -- theme is the trigger: the variables change with it
  return useMemo(() => readColors(printing ? "light" : undefined), [theme, printing]);
}

// "#2196f3" + 0.2 → "rgba(33, 150, 243, 0.2)"; other notations are returned unchanged.
export function withAlpha(color: string, alpha: number): string {
  const m = /^#([0-9a-f]{6})$/i.exec(color);
  if (!m) return color;
  const n = parseInt(m[1], 16);
  return `rgba(${(n >> 16) & 255}, ${(n >> 8) & 255}, ${n & 255}, ${alpha})`;
}

// Line charts' legends draw each series as a short line in its own style (dashed stays dashed).
export const LEGEND_LABELS = (color: string) => ({ color, usePointStyle: true, pointStyle: "line" as const, pointStyleWidth: 28, padding: 14 });
