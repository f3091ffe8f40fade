import { formatNumber } from "@/components/format";
import type { ThroughputSeries } from "./series";

// The latest measurement in words, above the chart.
export function ThroughputSummary({ series }: { series: ThroughputSeries }) {
  const samples = series.samples.at(-1);
  const tokens = series.tokens.at(-1);
  const count = Math.max(series.samples.length, series.tokens.length);
  return (
    <p className="mb-3 text-sm text-muted">
      Latest{" "}
      {samples && (
        <span className="font-semibold text-fg tabular-nums">{formatNumber(samples.y ?? 0, 1)} samples/s</span>
      )}
      {samples && tokens && " · "}
      {tokens && <span className="font-semibold text-fg tabular-nums">{formatNumber(tokens.y ?? 0)} tokens/s</span>} at step{" "}
      {formatNumber((samples ?? tokens)!.x)} · {count} measurements
    </p>
  );
}
