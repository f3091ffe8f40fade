// Missing data said in words, in place of a chart or list that would otherwise be drawn empty.
export function EmptyState({ children, hint, ...rest }: { children: React.ReactNode; hint?: React.ReactNode } & React.HTMLAttributes<HTMLDivElement>) {
  return (
    <div className="empty-state" {...rest}>
      <p className="font-medium text-fg">{children}</p>
      {hint && <p className="mt-1 text-sm text-muted">{hint}</p>}
    </div>
  );
}
