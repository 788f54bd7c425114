/** Sample moments of paired host numbers, shared by the probe's correlation and slope and the report's Fieller interval. */

/** Means of x and y and their centred sums of squares and cross-products (x and y of equal length n ≥ 1). */
export interface CentredSums {
  n: number;
  mx: number;
  my: number;
  sxx: number;
  syy: number;
  sxy: number;
}

export function centredSums(x: readonly number[], y: readonly number[]): CentredSums {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxx += dx * dx;
    syy += dy * dy;
    sxy += dx * dy;
  }
  return { n, mx, my, sxx, syy, sxy };
}

/** Pearson correlation; NaN when either side has no spread. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  const { sxx, syy, sxy } = centredSums(x, y);
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}

/** Least-squares slope of y on x; NaN when x has no spread. */
export function slopeOf(x: readonly number[], y: readonly number[]): number {
  const { sxx, sxy } = centredSums(x, y);
  return sxx > 0 ? sxy / sxx : NaN;
}
