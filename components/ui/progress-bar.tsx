import { formatProgress } from "@/components/format";
import type { ModelStatus } from "@/lib/schemas/api";

export function ProgressBar({ value, label, status }: { value: number; label: string; status?: ModelStatus["status"] }) {
  const clamped = Math.min(100, Math.max(0, value));
  return (
    <div className="flex items-center gap-2">
      <div
        role="progressbar"
        aria-label={label}
        aria-valuemin={0}
        aria-valuemax={100}
        aria-valuenow={clamped}
        aria-valuetext={formatProgress(clamped)}
        className="progress"
      >
        <div className={`progress-fill fill-${status ?? "running"}`} style={{ width: `${clamped}%` }} />
      </div>
      <span className="w-10 shrink-0 text-right text-xs tabular-nums text-muted">{formatProgress(clamped)}</span>
    </div>
  );
}
