/**
 * The statistics tables and the regression gate rest on: mean and sample sd over seeds, Student's t
 * distribution (CDF through the regularised incomplete beta function, quantile by bisection on that CDF),
 * paired and Welch intervals, and Holm's step-down correction.
 */
import { centredSums } from './engine/moments.js';

export interface Stat {
  mean: number;
  /** Sample standard deviation (n − 1); 0 when n < 2. */
  sd: number;
  n: number;
}

export function describe(xs: readonly number[]): Stat {
  const n = xs.length;
  if (n === 0) return { mean: NaN, sd: NaN, n: 0 };
  const mean = xs.reduce((a, b) => a + b, 0) / n;
  const sd = n > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (n - 1)) : 0;
  return { mean, sd, n };
}

/** ln Γ(x) for x > 0 (Lanczos, g = 7, 9 terms; relative error below 1e-13 on the range used here). */
function logGamma(x: number): number {
  const c = [
    0.99999999999980993, 676.5203681218851, -1259.1392167224028, 771.32342877765313, -176.61502916214059,
    12.507343278686905, -0.13857109526572012, 9.9843695780195716e-6, 1.5056327351493116e-7,
  ];
  if (x < 0.5) return Math.log(Math.PI / Math.sin(Math.PI * x)) - logGamma(1 - x);
  const z = x - 1;
  let a = c[0] as number;
  const t = z + 7.5;
  for (let i = 1; i < 9; i++) a += (c[i] as number) / (z + i);
  return 0.5 * Math.log(2 * Math.PI) + (z + 0.5) * Math.log(t) - t + Math.log(a);
}

/** Continued fraction of the incomplete beta function (modified Lentz). */
function betaContinuedFraction(a: number, b: number, x: number): number {
  const tiny = 1e-300;
  let c = 1;
  let d = 1 - ((a + b) * x) / (a + 1);
  if (Math.abs(d) < tiny) d = tiny;
  d = 1 / d;
  let h = d;
  for (let m = 1; m <= 10000; m++) {
    const m2 = 2 * m;
    let num = (m * (b - m) * x) / ((a + m2 - 1) * (a + m2));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    h *= d * c;
    num = (-(a + m) * (a + b + m) * x) / ((a + m2) * (a + m2 + 1));
    d = 1 + num * d;
    if (Math.abs(d) < tiny) d = tiny;
    c = 1 + num / c;
    if (Math.abs(c) < tiny) c = tiny;
    d = 1 / d;
    const del = d * c;
    h *= del;
    if (Math.abs(del - 1) < 1e-15) break;
  }
  return h;
}

/** Regularised incomplete beta I_x(a, b). */
export function incompleteBeta(x: number, a: number, b: number): number {
  if (x <= 0) return 0;
  if (x >= 1) return 1;
  const front = Math.exp(logGamma(a + b) - logGamma(a) - logGamma(b) + a * Math.log(x) + b * Math.log(1 - x));
  // The continued fraction converges fast only below the mean; use the symmetry relation above it.
  return x < (a + 1) / (a + b + 2) ? (front * betaContinuedFraction(a, b, x)) / a : 1 - (front * betaContinuedFraction(b, a, 1 - x)) / b;
}

/** Standard normal CDF via erfc (Numerical Recipes' Chebyshev fit, relative error below 1.2e-7). */
export function normalCdf(z: number): number {
  const x = Math.abs(z) / Math.SQRT2;
  const t = 1 / (1 + 0.5 * x);
  const erfc =
    t *
    Math.exp(
      -x * x - 1.26551223 +
        t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (-0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (-0.82215223 + t * 0.17087277)))))))),
    );
  return z >= 0 ? 1 - erfc / 2 : erfc / 2;
}

/** P(T ≤ t) for Student's t with `df` degrees of freedom (df = Infinity gives the normal CDF). */
export function tCdf(t: number, df: number): number {
  if (!Number.isFinite(df)) return normalCdf(t);
  if (t === 0) return 0.5;
  const tail = 0.5 * incompleteBeta(df / (df + t * t), df / 2, 0.5);
  return t > 0 ? 1 - tail : tail;
}

/** The p-quantile of Student's t (bisection on {@link tCdf}; |error| below 1e-10). */
export function tQuantile(p: number, df: number): number {
  if (!(p > 0 && p < 1)) throw new RangeError(`quantile level ${p} outside (0, 1)`);
  if (p === 0.5) return 0;
  if (p < 0.5) return -tQuantile(1 - p, df);
  let lo = 0;
  let hi = 1;
  while (tCdf(hi, df) < p) hi *= 2;
  for (let i = 0; i < 200 && hi - lo > 1e-12; i++) {
    const mid = (lo + hi) / 2;
    if (tCdf(mid, df) < p) lo = mid;
    else hi = mid;
  }
  return (lo + hi) / 2;
}

/** An estimate with its standard error and degrees of freedom (Infinity: normal). */
export interface Estimate {
  estimate: number;
  se: number;
  df: number;
  /** Observations behind the estimate (pairs, or seeds per side). */
  n: number;
}

export interface Interval extends Estimate {
  lo: number;
  hi: number;
  level: number;
}

export function interval(e: Estimate, level = 0.95): Interval {
  if (e.se === 0) return { ...e, lo: e.estimate, hi: e.estimate, level };
  const q = tQuantile(1 - (1 - level) / 2, e.df);
  return { ...e, lo: e.estimate - q * e.se, hi: e.estimate + q * e.se, level };
}

/**
 * The fewest observations (paired seeds, or seeds a side) an interval is stated for. With 2 the t interval has one
 * degree of freedom and two differences that happen to be equal print as "+1.0 [+1.0, +1.0]", which reads as
 * certainty; below this, tables show what holds ("n = 2") and the gate does not run Welch over seeds.
 */
export const MIN_INTERVAL_N = 3;

/**
 * Whether values vary by more than float noise: equal differences computed from different operands (0.21 − 0.20,
 * 0.23 − 0.22) agree only to the last bits, so a spread below 1e-9 of the largest magnitude counts as none.
 */
export function hasSpread(xs: readonly number[]): boolean {
  if (xs.length < 2) return false;
  return describe(xs).sd > 1e-9 * Math.max(...xs.map(Math.abs));
}

/**
 * Why no interval is stated for these values, as a table prints it ("n = 2", "n = 4, no spread"), or undefined
 * when one is: fewer than {@link MIN_INTERVAL_N} values, or no spread (a zero-width interval from a handful of
 * seeds is an accident of the seeds, not certainty).
 */
export function intervalWithheld(xs: readonly number[]): string | undefined {
  if (xs.length < MIN_INTERVAL_N) return `n = ${xs.length}`;
  if (!hasSpread(xs)) return `n = ${xs.length}, no spread`;
  return undefined;
}

/** Mean of paired differences with a t interval on n − 1 degrees of freedom; undefined when n < 2. */
export function pairedDifference(diffs: readonly number[], level = 0.95): Interval | undefined {
  if (diffs.length < 2) return undefined;
  const s = describe(diffs);
  return interval({ estimate: s.mean, se: s.sd / Math.sqrt(s.n), df: s.n - 1, n: s.n }, level);
}

/** Welch's difference of means (b − a) with Welch–Satterthwaite degrees of freedom; needs n ≥ 2 on both sides. */
export function welch(a: readonly number[], b: readonly number[]): Estimate {
  if (a.length < 2 || b.length < 2) throw new RangeError('Welch needs at least 2 values per side');
  const sa = describe(a);
  const sb = describe(b);
  const va = sa.sd ** 2 / sa.n;
  const vb = sb.sd ** 2 / sb.n;
  const se = Math.sqrt(va + vb);
  const df = se === 0 ? Infinity : (va + vb) ** 2 / (va ** 2 / (sa.n - 1) + vb ** 2 / (sb.n - 1));
  return { estimate: sb.mean - sa.mean, se, df, n: Math.min(sa.n, sb.n) };
}

/**
 * Two-sided p-value of H0: effect = `at` (the smallest level at which a two-sided interval of `e` excludes
 * `at`). A zero standard error gives 0 when the estimate differs from `at`, else 1.
 */
export function pValueAgainst(e: Estimate, at: number): number {
  if (e.se === 0) return e.estimate === at ? 1 : 0;
  const t = Math.abs(e.estimate - at) / e.se;
  return Math.min(1, 2 * (1 - tCdf(t, e.df)));
}

/** Holm's step-down adjusted p-values (same order as the input; monotone; capped at 1). */
export function holm(ps: readonly number[]): number[] {
  const m = ps.length;
  const order = ps.map((p, i) => [p, i] as const).sort((x, y) => x[0] - y[0]);
  const out = new Array<number>(m).fill(1);
  let running = 0;
  order.forEach(([p, i], rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * p));
    out[i] = running;
  });
  return out;
}

/** A ratio of means with its Fieller interval, or why none can be stated. */
export type RatioInterval =
  | { estimate: number; lo: number; hi: number; level: number; n: number }
  | { estimate: number; unbounded: true; level: number; n: number };

/**
 * Fieller's interval for the ratio of means ā/ō of paired observations (a_i, o_i), i = 1..n (e.g. per-seed
 * differences arm − baseline and oracle − baseline), using their sample variances and covariance and Student's
 * t on n − 1 degrees of freedom: the set of R with (ā − R·ō)² ≤ t²·Var(ā − R·ō). It is a bounded interval
 * exactly when ō's own t interval excludes 0; otherwise it is unbounded (reported as such, never clipped).
 * Undefined when n < 2.
 */
export function fiellerRatio(a: readonly number[], o: readonly number[], level = 0.95): RatioInterval | undefined {
  const n = a.length;
  if (n !== o.length) throw new RangeError('fiellerRatio needs pairs');
  if (n < 2) return undefined;
  const { mx: ma, my: mo, sxx: saa, syy: soo, sxy: sao } = centredSums(a, o);
  // Variances and covariance of the means.
  const vaa = saa / (n - 1) / n;
  const voo = soo / (n - 1) / n;
  const vao = sao / (n - 1) / n;
  const t = tQuantile(1 - (1 - level) / 2, n - 1);
  const t2 = t * t;
  const estimate = ma / mo;
  const A = mo * mo - t2 * voo;
  if (!(A > 0)) return { estimate, unbounded: true, level, n };
  const B = ma * mo - t2 * vao;
  const C = ma * ma - t2 * vaa;
  const root = Math.sqrt(Math.max(0, B * B - A * C));
  return { estimate, lo: (B - root) / A, hi: (B + root) / A, level, n };
}
