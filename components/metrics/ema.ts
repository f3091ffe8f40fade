// Debiased exponential moving average, as TensorBoard's scalar dashboard smooths: the running
// average starts at 0 and is divided by (1 - weight^n), so early points are not pulled to 0.
// Non-finite values pass through unsmoothed and do not advance the average; a constant series
// stays as it is. weight is in [0, 1): 0 = raw, 0.99 = very smooth.
export function smoothEma(values: ReadonlyArray<number | null>, weight: number): Array<number | null> {
  const w = Math.min(Math.max(weight, 0), 1);
  const finite = values.filter((v): v is number => v !== null && Number.isFinite(v));
  const constant = finite.every((v) => v === finite[0]);
  let last = 0;
  let count = 0;
  return values.map((v) => {
    if (v === null || !Number.isFinite(v) || constant) return v;
    last = last * w + (1 - w) * v;
    count++;
    const debias = w === 1 ? 1 : 1 - Math.pow(w, count);
    return last / debias;
  });
}
