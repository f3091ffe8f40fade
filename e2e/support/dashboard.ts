import AxeBuilder from "@axe-core/playwright";
import type { Locator, Page } from "@playwright/test";
import { startServer, type RunningServer } from "./server";

export const TAB_IDS = ["overview", "models", "costs", "metrics", "hosts", "registry"] as const;
export type TabName = (typeof TAB_IDS)[number];

type Rgb = [number, number, number];

// The first series colour of each theme (--chart-1 in app/globals.css): the GPU utilization
// line, the smoothed training loss and the doughnut's first slice are drawn in it.
export const SERIES_1: Record<"dark" | "light", Rgb> = { dark: [0x21, 0x96, 0xf3], light: [0x15, 0x65, 0xc0] };
// Every series colour of both themes: a pixel in one of them is data, not grid or text.
export const SERIES_COLOURS: Rgb[] = [
  "#2196f3", "#ffb74d", "#66bb6a", "#ba68c8", "#4dd0e1", "#f06292",
  "#1565c0", "#e65100", "#2e7d32", "#7b1fa2", "#00838f", "#c2185b",
].map((hex) => [1, 3, 5].map((i) => parseInt(hex.slice(i, i + 2), 16)) as Rgb);

// How many opaque pixels of the canvas are within `tolerance` of one of `colours`.
export async function countPixels(canvas: Locator, colours: Rgb[], tolerance = 14): Promise<number> {
  return canvas.evaluate(
    (el, { colours, tolerance }) => {
      const c = el as HTMLCanvasElement;
      const { data } = c.getContext("2d")!.getImageData(0, 0, c.width, c.height);
      let n = 0;
      for (let i = 0; i < data.length; i += 4) {
        if (data[i + 3] < 200) continue;
        for (const [r, g, b] of colours) {
          if (Math.abs(data[i] - r) <= tolerance && Math.abs(data[i + 1] - g) <= tolerance && Math.abs(data[i + 2] - b) <= tolerance) {
            n++;
            break;
          }
        }
      }
      return n;
    },
    { colours, tolerance },
  );
}

// The page's serious and critical axe violations, one line each with the elements they hit.
export async function seriousViolations(page: Page): Promise<string[]> {
  const axe = await new AxeBuilder({ page }).analyze();
  return axe.violations
    .filter((v) => v.impact === "serious" || v.impact === "critical")
    .map((v) => `${v.id}: ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
}

export function collectConsoleErrors(page: Page): string[] {
  const errors: string[] = [];
  page.on("console", (m) => {
    if (m.type() === "error") errors.push(`${m.text()} (${m.location().url})`);
  });
  page.on("pageerror", (e) => errors.push(`pageerror: ${e.message}`));
  return errors;
}

export async function noHorizontalScroll(page: Page): Promise<{ scrollWidth: number; clientWidth: number }> {
  return page.evaluate(() => {
    const el = document.scrollingElement!;
    return { scrollWidth: el.scrollWidth, clientWidth: el.clientWidth };
  });
}

// A server of its own whose nvidia-smi does not exist: what a host without an NVIDIA GPU looks like.
// startServer passes the runner's environment on, so the GPU settings are set around the spawn.
export async function startServerWithoutGpu({ dataDir }: { dataDir: string }): Promise<RunningServer> {
  const saved = { source: process.env.AFS_GPU_SOURCE, smi: process.env.NVIDIA_SMI };
  process.env.AFS_GPU_SOURCE = "nvidia-smi";
  process.env.NVIDIA_SMI = "/nonexistent/nvidia-smi";
  try {
    return await startServer({ dataDir });
  } finally {
    restore("AFS_GPU_SOURCE", saved.source);
    restore("NVIDIA_SMI", saved.smi);
  }
}

function restore(name: string, value: string | undefined) {
  if (value === undefined) delete process.env[name];
  else process.env[name] = value;
}
