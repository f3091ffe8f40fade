"use client";

import { TIME_RANGE_OPTIONS, type TimeRangeOption } from "@/lib/swr/keys";

const RANGE_LABEL: Record<TimeRangeOption, string> = {
  "15m": "15 minutes",
  "1h": "1 hour",
  "6h": "6 hours",
  "24h": "24 hours",
  "7d": "7 days",
};

export function rangeLabel(range: TimeRangeOption): string {
  return RANGE_LABEL[range];
}

// A segmented control made of real radio buttons: arrow keys and screen readers work natively.
export function RangePicker({ value, onChange }: { value: TimeRangeOption; onChange: (range: TimeRangeOption) => void }) {
  return (
    <fieldset className="segmented" data-testid="range-picker">
      <legend className="sr-only">Time range</legend>
      {TIME_RANGE_OPTIONS.map((r) => (
        <label key={r} title={`Last ${RANGE_LABEL[r]}`}>
          <input type="radio" name="gpu-range" value={r} checked={r === value} onChange={() => onChange(r)} className="sr-only" />
          <span>{r}</span>
        </label>
      ))}
    </fieldset>
  );
}
