// At most `max` points (at least 2 kept): the first, the last, and between them the lowest and
// highest value of each of equal-count buckets, in their original order, so spikes survive.
export function downsamplePoints<P extends { value: number }>({ points, max }: { points: readonly P[]; max: number }): P[] {
  if (points.length <= max) return [...points];
  const first = points[0];
  const last = points[points.length - 1];
  const buckets = Math.floor((Math.max(2, max) - 2) / 2);
  const inner = points.length - 2;
  const out: P[] = [first];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (points[i].value < points[lo].value) lo = i;
      if (points[i].value > points[hi].value) hi = i;
    }
    if (lo !== hi) out.push(points[Math.min(lo, hi)]);
    out.push(points[Math.max(lo, hi)]);
  }
  out.push(last);
  return out;
}
