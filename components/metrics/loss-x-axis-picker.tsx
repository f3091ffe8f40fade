"use client";

import { LOSS_X_AXES, type LossXAxis } from "./series";

// What the loss is drawn against, as a segmented control of radio buttons (like the range picker).
export function LossXAxisPicker({ value, onChange }: { value: LossXAxis; onChange: (axis: LossXAxis) => void }) {
  return (
    <fieldset className="segmented" data-testid="loss-x-axis">
      <legend className="sr-only">Loss against</legend>
      {(Object.keys(LOSS_X_AXES) as LossXAxis[]).map((axis) => (
        <label key={axis}>
          <input type="radio" name="loss-x-axis" value={axis} checked={axis === value} onChange={() => onChange(axis)} className="sr-only" />
          <span>{LOSS_X_AXES[axis].label}</span>
        </label>
      ))}
    </fieldset>
  );
}
