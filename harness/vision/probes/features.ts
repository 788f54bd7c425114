/**
 * The interface between a frozen backbone and the probes: a feature function maps images to CLS and patch
 * tokens on the host. Probes see nothing else of the model, so they never import a trainer.
 */
import type { VisionSplit } from '../data/types.js';

/** Frozen features of n images: CLS [n, dim] and patch tokens [n, grid·grid, dim] (row-major grid). */
export interface Features {
  n: number;
  dim: number;
  /** Patches per side. */
  grid: number;
  cls: Float32Array;
  patch: Float32Array;
}

/** Images [n, size, size, 3] in [0, 1] -> frozen features (no gradient, no training). */
export type FeatureFn = (images: Float32Array, n: number, size: number) => Features;

/** Features of a split, computed once per split object and reused by every probe. */
export class FeatureCache {
  private readonly memo = new Map<VisionSplit, Features>();
  constructor(private readonly fn: FeatureFn) {}
  get(split: VisionSplit): Features {
    let f = this.memo.get(split);
    if (!f) {
      f = this.fn(split.images, split.n, split.size);
      if (f.n !== split.n) throw new Error(`feature function returned ${f.n} rows for ${split.n} images`);
      this.memo.set(split, f);
    }
    return f;
  }
}

/** Per-dimension mean and 1/√(var + eps) of rows [m, d]: BatchNorm's statistics on the probe-train set. */
export function columnStats(x: Float32Array, d: number, eps = 1e-5): { mean: Float32Array; invStd: Float32Array } {
  const m = x.length / d;
  const mean = new Float64Array(d);
  const sq = new Float64Array(d);
  for (let i = 0; i < m; i++) for (let j = 0; j < d; j++) {
    const v = x[i * d + j] as number;
    mean[j]! += v;
    sq[j]! += v * v;
  }
  const outMean = new Float32Array(d);
  const invStd = new Float32Array(d);
  for (let j = 0; j < d; j++) {
    const mu = (mean[j] as number) / m;
    outMean[j] = mu;
    invStd[j] = 1 / Math.sqrt(Math.max(0, (sq[j] as number) / m - mu * mu) + eps);
  }
  return { mean: outMean, invStd };
}

/** (x − mean)·invStd, row-wise, into a new array. */
export function standardize(x: Float32Array, s: { mean: Float32Array; invStd: Float32Array }): Float32Array {
  const d = s.mean.length;
  const out = new Float32Array(x.length);
  for (let i = 0; i < x.length; i++) {
    const j = i % d;
    out[i] = ((x[i] as number) - (s.mean[j] as number)) * (s.invStd[j] as number);
  }
  return out;
}
