/**
 * Numbers derived from several arms at once: the fraction of the oracle's headroom an arm recovers (paired by
 * seed, Fieller interval) and token efficiency (how many baseline steps reach an arm's final downstream loss).
 */
import { fiellerRatio, type RatioInterval } from '../stats.js';
import type { SeedValues } from './model.js';

/**
 * Recovered fraction (arm − baseline)/(oracle − baseline) over the seeds where all three completed, with
 * Fieller's 95% interval; undefined with fewer than 2 such seeds.
 */
export function recoveredFraction(arm: SeedValues, baseline: SeedValues, oracle: SeedValues): RatioInterval | undefined {
  const { a, o } = recoveredPairs(arm, baseline, oracle);
  return fiellerRatio(a, o);
}

/** Per-seed (arm − baseline) and (oracle − baseline) over the seeds where all three completed, in seed order. */
export function recoveredPairs(arm: SeedValues, baseline: SeedValues, oracle: SeedValues): { a: number[]; o: number[] } {
  const seeds = Object.keys(arm).map(Number).filter((s) => s in baseline && s in oracle).sort((x, y) => x - y);
  return { a: seeds.map((s) => (arm[s] as number) - (baseline[s] as number)), o: seeds.map((s) => (oracle[s] as number) - (baseline[s] as number)) };
}

export interface CurvePoint {
  step: number;
  nll: number;
}

/** Mean curve over seeds at the steps every seed recorded (sorted by step). */
export function meanCurve(curves: readonly (readonly CurvePoint[])[]): CurvePoint[] {
  if (!curves.length) return [];
  const common = curves.map((c) => new Map(c.map((p) => [p.step, p.nll])));
  const steps = [...(common[0] as Map<number, number>).keys()].filter((s) => common.every((m) => m.has(s))).sort((x, y) => x - y);
  return steps.map((step) => ({ step, nll: common.reduce((acc, m) => acc + (m.get(step) as number), 0) / common.length }));
}

/**
 * The first (interpolated) step at which `curve` reaches `target` or below: linear between the two log points
 * around the crossing; 0 when it starts there; undefined when it never gets there within the run.
 */
export function stepsToReach(curve: readonly CurvePoint[], target: number): number | undefined {
  const first = curve[0];
  if (!first) return undefined;
  if (first.nll <= target) return first.step;
  for (let i = 1; i < curve.length; i++) {
    const p = curve[i - 1] as CurvePoint;
    const q = curve[i] as CurvePoint;
    if (q.nll <= target) return p.step + ((p.nll - target) / (p.nll - q.nll)) * (q.step - p.step);
  }
  return undefined;
}
