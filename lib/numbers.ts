// Rounding happens once, where a figure is answered; everything before it stays unrounded.
export function round(value: number, digits: number): number {
  const f = 10 ** digits;
  return Math.round(value * f) / f;
}
