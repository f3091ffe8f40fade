import { formatShare } from "@/components/format";

// How much of the budget is spent: the meter's value is the amount (clamped to the budget),
// its text the share, which can pass 100%; the bar turns red once the budget is overrun.
export function BudgetMeter({ spent, budget, className }: { spent: number; budget: number; className?: string }) {
  const share = Math.max(0, spent) / budget;
  return (
    <div
      className={`budget-bar ${className ?? ""}`}
      role="meter"
      aria-label="Budget used"
      aria-valuemin={0}
      aria-valuemax={budget}
      aria-valuenow={Math.min(budget, Math.max(0, spent))}
      aria-valuetext={`${formatShare(share)} of the budget used`}
      data-over={spent > budget || undefined}
    >
      <div style={{ width: `${Math.min(100, share * 100)}%` }} />
    </div>
  );
}
