/**
 * The regression gate: compares a results set with a baseline per arm and metric and calls each
 * improved, within noise, regressed, new, missing or incomparable.
 *
 * - Comparable only with the same eval versions, data hashes, config hash and arm version (else incomparable);
 *   timings and memory also need the same backend and device.
 * - Quality metrics (direction-aware): the change is Welch's difference of means over seeds when both sides
 *   have n ≥ 3 (MIN_INTERVAL_N, the tables' rule) and some spread, else the difference of means with the
 *   recorded per-sample stderr (normal). It regresses only when its whole interval lies beyond the tolerance
 *   in the bad direction, with the interval's level set by Holm's correction over every quality test of the
 *   comparison (p-value of "change = ∓tolerance"); improved symmetrically.
 * - Timings and memory peaks: Welch on log values over seeds (not tested with fewer than 3 seeds a side or no
 *   spread); they regress only when the ratio of geometric means is beyond the factor (1.1) and the log ratio
 *   differs from 0 after a Holm correction over the cost tests.
 * - A seed that completed in the baseline and errored or timed out now is always a regression.
 */
import { metricDisplay } from '../report/display.js';
import { completedBySeed, InputError, type CellRecord, type ResultSet } from '../report/read.js';
import { describe, hasSpread, holm, interval, MIN_INTERVAL_N, pValueAgainst, welch, type Estimate } from '../stats.js';
import { canonicalJson } from '../suite/hash.js';
import { toleranceAt, toleranceFor, type CompareConfig } from './config.js';

export type Verdict = 'improved' | 'within noise' | 'regressed' | 'new' | 'missing' | 'incomparable';

export interface Side {
  mean: number;
  sd: number;
  /** Seeds with a value. */
  n: number;
}

export interface CompareRow {
  arm: string;
  /** Metric key, `timing:<name>`, `memory:<name>` or `status`. */
  metric: string;
  verdict: Verdict;
  baseline?: Side;
  results?: Side;
  /** Change results − baseline (quality) or ratio results/baseline (timing, memory). */
  change?: number;
  /** Unadjusted 95% interval of the change (quality: difference; timing: ratio). */
  interval?: [number, number];
  /** Tolerance in metric units (quality) or the factor (timing). */
  tolerance?: number;
  /** Holm-adjusted p-value of the test that decided the verdict. */
  pAdjusted?: number;
  /** Why: incomparability, the failed seeds, the method used. */
  note?: string;
}

export interface Comparison {
  suite: string;
  rows: CompareRow[];
  counts: Record<Verdict, number>;
  /** True when nothing could be compared (every row new, missing or incomparable). */
  nothingComparable: boolean;
}

interface CostMetric {
  metric: string;
  get: (c: CellRecord) => number | undefined;
  higherIsBetter: boolean;
}

const pos = (x: number | undefined): number | undefined => (typeof x === 'number' && Number.isFinite(x) && x > 0 ? x : undefined);

/** Costs the gate checks: learner step time, evaluation time, and memory peaks where recorded. */
const COSTS: CostMetric[] = [
  { metric: 'timing:msPerStep', get: (c) => pos(c.timings?.msPerStep), higherIsBetter: false },
  { metric: 'timing:evalMs', get: (c) => pos(c.timings?.evalMs), higherIsBetter: false },
  { metric: 'memory:tfPeakBytes', get: (c) => pos(c.memory?.tfPeakBytes), higherIsBetter: false },
  { metric: 'memory:rssPeakBytes', get: (c) => pos(c.memory?.rssPeakBytes), higherIsBetter: false },
];

const same = (a: unknown, b: unknown): boolean => canonicalJson(a ?? null) === canonicalJson(b ?? null);

/** What makes two arms' results incomparable, or undefined when they are comparable. */
function incomparability(b: CellRecord[], r: CellRecord[]): string | undefined {
  const pick = (cs: CellRecord[], f: (c: CellRecord) => unknown): unknown[] => [...new Set(cs.map((c) => canonicalJson(f(c) ?? null)))].map((s) => JSON.parse(s));
  const checks: [string, (c: CellRecord) => unknown][] = [
    ['eval versions', (c) => c.evalVersions],
    ['data hashes', (c) => c.dataHashes],
    ['config hash', (c) => c.configHash],
    ['arm version', (c) => c.armVersion],
  ];
  for (const [what, f] of checks) {
    const bv = pick(b, f);
    const rv = pick(r, f);
    if (!same(bv, rv)) return `${what} differ: ${JSON.stringify(bv.length === 1 ? bv[0] : bv)} → ${JSON.stringify(rv.length === 1 ? rv[0] : rv)}`;
  }
  return undefined;
}

function deviceOf(cs: CellRecord[]): string {
  return [...new Set(cs.map((c) => `${c.engine?.backend ?? '?'} on ${c.engine?.device ?? '?'}`))].sort().join(' | ');
}

function side(xs: number[]): Side {
  const s = describe(xs);
  return { mean: s.mean, sd: s.sd, n: s.n };
}

/**
 * Why Welch over seeds gives no interval, by the tables' rule (stats.ts intervalWithheld): fewer than
 * MIN_INTERVAL_N seeds a side, or no spread on either side (a zero standard error from a handful of seeds).
 */
function welchWithheld(a: readonly number[], b: readonly number[]): string | undefined {
  if (Math.min(a.length, b.length) < MIN_INTERVAL_N) return `n = ${a.length} and ${b.length} seeds`;
  return hasSpread(a) || hasSpread(b) ? undefined : 'no spread over seeds';
}

/** Change of a quality metric, results − baseline, how it was estimated, or a reason it cannot be. */
function qualityEstimate(b: CellRecord[], r: CellRecord[], key: string): { est: Estimate; method: string } | string {
  const bv = b.map((c) => c.metrics[key]?.value as number);
  const rv = r.map((c) => c.metrics[key]?.value as number);
  const why = welchWithheld(bv, rv);
  if (!why) return { est: welch(bv, rv), method: 'Welch over seeds' };
  // No interval over seeds: the sampling error of each side's mean from the recorded per-sample stderr.
  const seOfMean = (cs: CellRecord[]): number | undefined => {
    const ses = cs.map((c) => c.metrics[key]?.stderr);
    if (ses.some((s) => typeof s !== 'number' || !Number.isFinite(s))) return undefined;
    return Math.sqrt((ses as number[]).reduce((a, s) => a + s * s, 0)) / cs.length;
  };
  const sb = seOfMean(b);
  const sr = seOfMean(r);
  if (sb === undefined || sr === undefined) return `${why}: no interval over seeds, and no recorded stderr`;
  return {
    est: { estimate: describe(rv).mean - describe(bv).mean, se: Math.sqrt(sb * sb + sr * sr), df: Infinity, n: Math.min(bv.length, rv.length) },
    method: `per-sample stderr (${why}: no interval over seeds)`,
  };
}

interface Pending {
  row: CompareRow;
  /** p-value of the hypothesis whose rejection would flag the row (1: cannot flag). */
  p: number;
  /** Verdict if the adjusted p is below alpha. */
  ifSignificant: Verdict;
}

function valuesOf(cells: CellRecord[], get: (c: CellRecord) => number | undefined): { cells: CellRecord[]; xs: number[] } {
  const keep = cells.filter((c) => get(c) !== undefined);
  return { cells: keep, xs: keep.map((c) => get(c) as number) };
}

/** Compares `results` with `baseline` (both of one suite) under the gate settings `cfg`. */
export function compareResults(baseline: ResultSet, results: ResultSet, cfg: CompareConfig): Comparison {
  if (baseline.suite !== results.suite) {
    throw new InputError(`${results.sources.join(', ')} holds suite '${results.suite}', but the baseline ${baseline.sources.join(', ')} was recorded from suite '${baseline.suite}'`);
  }
  const armIds = [...new Set([...baseline.arms.map((a) => a.id), ...results.arms.map((a) => a.id)])];
  const rows: CompareRow[] = [];
  const pending: Pending[] = [];
  for (const arm of armIds) {
    const bBySeed = completedBySeed(baseline, arm);
    const rBySeed = completedBySeed(results, arm);
    const b = [...bBySeed.values()];
    const r = [...rBySeed.values()];
    // completed → errored or timed out: always a regression, seed by seed.
    for (const c of results.cells) {
      if (c.armId !== arm || (c.status !== 'errored' && c.status !== 'timedout') || !bBySeed.has(c.seed)) continue;
      rows.push({ arm, metric: 'status', verdict: 'regressed', note: `seed ${c.seed}: completed → ${c.status}${c.error ? `: ${c.error.split('\n')[0]?.slice(0, 160)}` : ''}` });
    }
    const bKeys = new Set(b.flatMap((c) => Object.keys(c.metrics)));
    const rKeys = new Set(r.flatMap((c) => Object.keys(c.metrics)));
    const keys = [...bKeys, ...[...rKeys].filter((k) => !bKeys.has(k))];
    const why = b.length && r.length ? incomparability(b, r) : undefined;
    for (const key of keys) {
      const row: CompareRow = { arm, metric: key, verdict: 'within noise' };
      const bx = valuesOf(b, (c) => finiteOrUndef(c.metrics[key]?.value));
      const rx = valuesOf(r, (c) => finiteOrUndef(c.metrics[key]?.value));
      if (bx.xs.length) row.baseline = side(bx.xs);
      if (rx.xs.length) row.results = side(rx.xs);
      if (!bx.xs.length || !rx.xs.length) {
        rows.push({ ...row, verdict: bx.xs.length ? 'missing' : 'new', note: bx.xs.length ? 'no completed cell records it now' : 'not in the baseline' });
        continue;
      }
      if (why) {
        rows.push({ ...row, verdict: 'incomparable', note: why });
        continue;
      }
      const hib = [...bx.cells, ...rx.cells].map((c) => c.higherIsBetter[key]).find((h) => h !== undefined);
      if (hib === undefined) {
        rows.push({ ...row, verdict: 'incomparable', note: 'no direction (higherIsBetter) recorded' });
        continue;
      }
      const q = qualityEstimate(bx.cells, rx.cells, key);
      if (typeof q === 'string') {
        rows.push({ ...row, verdict: 'incomparable', note: q });
        continue;
      }
      const est = q.est;
      const tol = toleranceAt(toleranceFor(cfg, key), (row.baseline as Side).mean);
      const iv = interval(est, 1 - cfg.alpha);
      // In "good" units: positive is better whatever the metric's direction.
      const good: Estimate = { ...est, estimate: hib ? est.estimate : -est.estimate };
      const pBad = good.estimate < -tol ? pValueAgainst(good, -tol) : 1;
      const pGood = good.estimate > tol ? pValueAgainst(good, tol) : 1;
      Object.assign(row, {
        change: est.estimate,
        interval: [iv.lo, iv.hi] as [number, number],
        tolerance: tol,
        note: q.method,
      });
      rows.push(row);
      pending.push({ row, p: Math.min(pBad, pGood), ifSignificant: pBad <= pGood ? 'regressed' : 'improved' });
    }
    // Costs: only against the same backend and device.
    for (const cost of COSTS) {
      const bx = valuesOf(b, cost.get);
      const rx = valuesOf(r, cost.get);
      if (!bx.xs.length && !rx.xs.length) continue;
      const row: CompareRow = { arm, metric: cost.metric, verdict: 'within noise' };
      if (bx.xs.length) row.baseline = side(bx.xs);
      if (rx.xs.length) row.results = side(rx.xs);
      if (!bx.xs.length || !rx.xs.length) {
        rows.push({ ...row, verdict: bx.xs.length ? 'missing' : 'new' });
        continue;
      }
      const bd = deviceOf(bx.cells);
      const rd = deviceOf(rx.cells);
      if (why || bd !== rd) {
        rows.push({ ...row, verdict: 'incomparable', note: why ?? `device differs: ${bd} → ${rd}` });
        continue;
      }
      const ratio = Math.exp(describe(rx.xs.map(Math.log)).mean - describe(bx.xs.map(Math.log)).mean);
      row.change = ratio;
      row.tolerance = cfg.timingFactor;
      const withheld = welchWithheld(bx.xs.map(Math.log), rx.xs.map(Math.log));
      if (withheld) {
        rows.push({ ...row, note: `${withheld}: not tested` });
        continue;
      }
      const est = welch(bx.xs.map(Math.log), rx.xs.map(Math.log));
      const iv = interval(est, 1 - cfg.alpha);
      row.interval = [Math.exp(iv.lo), Math.exp(iv.hi)];
      row.note = 'Welch on log values over seeds';
      rows.push(row);
      const worse = cost.higherIsBetter ? ratio < 1 / cfg.timingFactor : ratio > cfg.timingFactor;
      const better = cost.higherIsBetter ? ratio > cfg.timingFactor : ratio < 1 / cfg.timingFactor;
      pending.push({ row, p: worse || better ? pValueAgainst(est, 0) : 1, ifSignificant: worse ? 'regressed' : 'improved' });
    }
  }
  // Holm over every quality test of this comparison, and separately over every cost test: within each
  // family the chance that any row is flagged wrongly stays below alpha.
  for (const family of [pending.filter((x) => !isCost(x.row.metric)), pending.filter((x) => isCost(x.row.metric))]) {
    const adjusted = holm(family.map((x) => x.p));
    family.forEach((x, i) => {
      const p = adjusted[i] as number;
      x.row.pAdjusted = p;
      if (p < cfg.alpha) x.row.verdict = x.ifSignificant;
    });
  }
  const counts: Record<Verdict, number> = { improved: 0, 'within noise': 0, regressed: 0, new: 0, missing: 0, incomparable: 0 };
  for (const row of rows) counts[row.verdict]++;
  const compared = counts.improved + counts['within noise'] + counts.regressed;
  return { suite: results.suite, rows, counts, nothingComparable: compared === 0 };
}

function isCost(metric: string): boolean {
  return metric.startsWith('timing:') || metric.startsWith('memory:');
}

function finiteOrUndef(x: number | null | undefined): number | undefined {
  return typeof x === 'number' && Number.isFinite(x) ? x : undefined;
}

/** The change of a row as text in the metric's display units. */
export function formatRow(row: CompareRow): { baseline: string; results: string; change: string } {
  const cost = isCost(row.metric);
  // Memory in MiB, times in ms, quality metrics in their table units with one more digit.
  const d = row.metric.startsWith('memory:') ? { scale: 1 / (1024 * 1024), digits: 1 } : cost || row.metric === 'status' ? { scale: 1, digits: 1 } : metricDisplay(row.metric);
  const digits = cost ? d.digits : d.digits + 1;
  const fmtSide = (s: Side | undefined): string => (s ? `${(s.mean * d.scale).toFixed(digits)}${s.n > 1 ? ` ± ${(s.sd * d.scale).toFixed(digits)}` : ''} (n=${s.n})` : '–');
  let change = '';
  if (row.change !== undefined) {
    if (cost) change = `×${row.change.toFixed(3)}${row.interval ? ` [${row.interval[0].toFixed(3)}, ${row.interval[1].toFixed(3)}]` : ''}`;
    else {
      const f = (x: number): string => `${x >= 0 ? '+' : '−'}${Math.abs(x * d.scale).toFixed(digits)}`;
      change = `${f(row.change)}${row.interval ? ` [${f(row.interval[0])}, ${f(row.interval[1])}]` : ''} ±tol ${((row.tolerance ?? 0) * d.scale).toFixed(digits)}`;
    }
  }
  return { baseline: fmtSide(row.baseline), results: fmtSide(row.results), change };
}
