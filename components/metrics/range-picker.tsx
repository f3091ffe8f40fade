"use client";

import { DASHBOARD_TIME_RANGES, TIME_RANGE_LABELS, type TimeRange } from "@/lib/schemas/time-range";

// A segmented control made of real radio buttons: arrow keys and screen readers work natively.
export function RangePicker({ value, onChange }: { value: TimeRange; onChange: (range: TimeRange) => void }) {
  return (
    <fieldset className="segmented" data-testid="range-picker">
      <legend className="sr-only">Time range</legend>
      {DASHBOARD_TIME_RANGES.map((r) => (
        <label key={r} title={`Last ${TIME_RANGE_LABELS[r]}`}>
          <input type="radio" name="gpu-range" value={r} checked={r === value} onChange={() => onChange(r)} className="sr-only" />
          <span>{r}</span>
        </label>
      ))}
    </fieldset>
  );
}
