import { formatNumber } from "@/components/format";
import type { XY } from "./series";

export type PointStat = { label: string; point: XY; digits: number };

// The stat of each series that has a point: [label, series, fraction digits].
export function pointStats(entries: Array<[string, XY[], number]>): PointStat[] {
  return entries.flatMap(([label, points, digits]) => (points[0] ? [{ label, point: points[0], digits }] : []));
}

// Lone measurements in words ("Samples/s 564 at step 400") where a chart would be a single dot.
export function PointStats({ stats, testId }: { stats: PointStat[]; testId: string }) {
  return (
    <div data-testid={testId}>
      <dl className="flex flex-wrap gap-x-10 gap-y-4">
        {stats.map(({ label, point, digits }) => (
          <div key={label}>
            <dt className="text-xs text-muted">{label}</dt>
            <dd>
              <span className="text-2xl font-semibold tabular-nums">{point.y === null ? "—" : formatNumber(point.y, digits)}</span>{" "}
              <span className="text-sm text-muted">at step {formatNumber(point.x)}</span>
            </dd>
          </div>
        ))}
      </dl>
      <p className="mt-3 text-sm text-muted">The only measurement so far; a chart appears with the next one.</p>
    </div>
  );
}
