// The sized box a responsive Chart.js canvas needs (maintainAspectRatio: false fills it).
export function ChartBox({ children, height = "h-72" }: { children: React.ReactNode; height?: string }) {
  return <div className={`chart-box relative w-full ${height}`}>{children}</div>;
}
