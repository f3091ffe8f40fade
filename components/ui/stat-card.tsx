// One number with its label. `value` (data-value) is the raw number behind the text, so tests and
// scripts can compare it with the API without parsing formatted text.
export function StatCard({
  label,
  display,
  value,
  detail,
  testId,
  children,
}: {
  label: string;
  display: React.ReactNode;
  value?: number | string | null;
  detail?: React.ReactNode;
  testId: string;
  children?: React.ReactNode;
}) {
  return (
    <div className="card stat-card" data-testid={testId}>
      <p className="text-xs font-medium uppercase tracking-wide text-muted">{label}</p>
      <p
        className={`mt-2 font-semibold tabular-nums ${typeof display === "string" && /[a-z]/i.test(display) ? "text-lg" : "text-2xl"}`}
        data-testid={`${testId}-value`}
        data-value={value ?? ""}
      >
        {display}
      </p>
      {detail && <div className="mt-1 text-sm text-muted">{detail}</div>}
      {children}
    </div>
  );
}
