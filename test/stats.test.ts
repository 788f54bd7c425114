import { expect } from 'chai';
import { describe as stat, hasSpread, holm, incompleteBeta, interval, intervalWithheld, MIN_INTERVAL_N, pairedDifference, pValueAgainst, tCdf, tQuantile, welch } from '../harness/stats.js';

/** Student t density, for an independent check of the CDF by numerical integration. */
function tDensity(x: number, df: number): number {
  // Γ ratio through log-gamma by Stirling-free product for integer/half-integer df: computed by direct recursion.
  const lg = (z: number): number => {
    // ln Γ via the recurrence down to (0, 1] plus Γ(1) = 1 and Γ(1/2) = √π (df here are whole numbers).
    let acc = 0;
    while (z > 1.0000001) {
      z -= 1;
      acc += Math.log(z);
    }
    return acc + (Math.abs(z - 0.5) < 1e-9 ? 0.5 * Math.log(Math.PI) : 0);
  };
  return Math.exp(lg((df + 1) / 2) - lg(df / 2)) / Math.sqrt(df * Math.PI) * (1 + (x * x) / df) ** (-(df + 1) / 2);
}

/** ∫_0^x density by composite Simpson with many panels. */
function integrate(f: (x: number) => number, a: number, b: number, n = 20000): number {
  const h = (b - a) / n;
  let s = f(a) + f(b);
  for (let i = 1; i < n; i++) s += (i % 2 ? 4 : 2) * f(a + i * h);
  return (s * h) / 3;
}

describe('statistics', () => {
  it('t quantiles match published tables (two-sided 95%)', () => {
    const table: [number, number][] = [[1, 12.706], [2, 4.303], [3, 3.182], [4, 2.776], [5, 2.571], [10, 2.228], [30, 2.042], [Infinity, 1.96]];
    for (const [df, q] of table) expect(tQuantile(0.975, df), `df ${df}`).to.be.closeTo(q, 1e-3);
    expect(tQuantile(0.025, 4)).to.be.closeTo(-2.776, 1e-3);
  });

  it('t CDF agrees with numerical integration of the density', () => {
    for (const df of [1, 2, 3, 7, 20]) {
      for (const x of [0.3, 1, 2.5, 6]) {
        const numeric = 0.5 + integrate((t) => tDensity(t, df), 0, x);
        expect(tCdf(x, df), `df ${df} x ${x}`).to.be.closeTo(numeric, 1e-7);
        expect(tCdf(-x, df)).to.be.closeTo(1 - numeric, 1e-7);
      }
    }
  });

  it('incomplete beta has the closed form I_x(a, 1) = x^a', () => {
    for (const [x, a] of [[0.3, 2], [0.7, 3.5], [0.95, 0.5]] as const) expect(incompleteBeta(x, a, 1)).to.be.closeTo(x ** a, 1e-12);
  });

  it('paired interval: hand-worked case, and none from one pair', () => {
    // Differences 0.06, 0.05, 0.06: mean 0.05667, sd 0.005774, se 0.003333, t(0.975, 2) = 4.3027.
    const iv = pairedDifference([0.06, 0.05, 0.06]) as NonNullable<ReturnType<typeof pairedDifference>>;
    expect(iv.estimate).to.be.closeTo(0.056667, 1e-6);
    expect(iv.df).to.equal(2);
    expect(iv.lo).to.be.closeTo(0.056667 - 4.3027 * 0.0033333, 1e-5);
    expect(iv.hi).to.be.closeTo(0.056667 + 4.3027 * 0.0033333, 1e-5);
    expect(pairedDifference([0.1])).to.equal(undefined);
  });

  it('an interval is withheld below 3 values or without spread, float noise counting as none', () => {
    expect(intervalWithheld([0.01, 0.01])).to.equal('n = 2');
    expect(intervalWithheld([0.05])).to.equal('n = 1');
    // Equal differences from different operands agree only to the last bits: still no spread.
    const noisy = [0.21 - 0.2, 0.23 - 0.22, 0.25 - 0.24];
    expect(stat(noisy).sd).to.be.greaterThan(0);
    expect(hasSpread(noisy)).to.equal(false);
    expect(intervalWithheld(noisy)).to.equal('n = 3, no spread');
    expect(intervalWithheld([0.06, 0.05, 0.06])).to.equal(undefined);
    expect(MIN_INTERVAL_N).to.equal(3);
  });

  it('Welch: difference, standard error and Welch–Satterthwaite degrees of freedom by hand', () => {
    const a = [1, 2, 3]; // mean 2, var 1
    const b = [2, 4, 6, 8]; // mean 5, var 6.6667
    const e = welch(a, b);
    const va = 1 / 3;
    const vb = 6.666667 / 4;
    expect(e.estimate).to.equal(3);
    expect(e.se).to.be.closeTo(Math.sqrt(va + vb), 1e-6);
    expect(e.df).to.be.closeTo((va + vb) ** 2 / (va ** 2 / 2 + vb ** 2 / 3), 1e-4);
    expect(() => welch([1], b)).to.throw(/at least 2/);
  });

  it('p-value against a boundary is the level at which the interval touches it', () => {
    const e = { estimate: -3, se: 1, df: 5, n: 6 };
    const p = pValueAgainst(e, -0.5);
    const iv = interval(e, 1 - p);
    expect(iv.hi).to.be.closeTo(-0.5, 1e-8);
    expect(pValueAgainst({ estimate: 1, se: 0, df: Infinity, n: 2 }, 1)).to.equal(1);
    expect(pValueAgainst({ estimate: 1.5, se: 0, df: Infinity, n: 2 }, 1)).to.equal(0);
  });

  it('Holm adjusts step-down and stays monotone (hand-worked)', () => {
    // sorted 0.005, 0.01, 0.03, 0.04 → ×4, ×3, ×2, ×1 = 0.02, 0.03, 0.06, 0.04 → monotone 0.02, 0.03, 0.06, 0.06.
    expect(holm([0.01, 0.04, 0.03, 0.005])).to.deep.equal([0.03, 0.06, 0.06, 0.02]);
    expect(holm([])).to.deep.equal([]);
  });

  it('mean and sample sd', () => {
    const s = stat([0.2, 0.4]);
    expect(s.mean).to.be.closeTo(0.3, 1e-12);
    expect(s.sd).to.be.closeTo(Math.SQRT2 * 0.1, 1e-12);
    expect(stat([5]).sd).to.equal(0);
  });
});
