export type CostSlice = { key: string; name: string; cost: number; share: number };

// A doughnut of more than `top` slices is unreadable: the `top - 1` costliest models keep their
// slice and the rest share one, "Other models (n)".
export function groupSlices(slices: CostSlice[], top: number): CostSlice[] {
  if (slices.length <= top) return slices;
  const sorted = [...slices].sort((a, b) => b.cost - a.cost);
  const rest = sorted.slice(top - 1);
  let cost = 0;
  let share = 0;
  for (const s of rest) {
    cost += s.cost;
    share += s.share;
  }
  return [...sorted.slice(0, top - 1), { key: "other", name: `Other models (${rest.length})`, cost, share }];
}
