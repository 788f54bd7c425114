/**
 * Linear depth probe, plain regression (stated, as issue 10 allows instead of DINOv2's depth bins): each patch
 * token concatenated with the CLS token, BatchNorm (probe-train statistics), a linear layer to one depth value
 * per token, resized bilinearly to the label size. Fitted in closed form as ridge regression on the valid
 * pixels (gt > 0) of the probe-train split: squared error is what RMSE measures, the fit is exact and
 * deterministic, and every ridge strength of the grid costs one small solve. The ridge strength is chosen on
 * validation RMSE; predictions are clamped to [1e-3, maxDepth]; RMSE, AbsRel and δ1 are reported on test, per
 * image then averaged.
 */
import * as tf from '@tensorflow/tfjs';
import type { VisionSplit } from '../data/types.js';
import { matMul2d } from '../../engine/ops.js';
import { columnStats, standardize, type FeatureCache } from './features.js';
import { batchRanges } from './linear-head.js';
import { depthMetrics, depthPerImage } from './metrics.js';
import type { ProbeConfig } from './config.js';
import type { ProbeOutcome, ProbeSplits } from './segmentation.js';
import { upsampleAdjoint, upsampleBilinear } from './upsample.js';

/** [patch ‖ CLS] rows [n·P, 2D]. */
export function patchWithCls(patch: Float32Array, cls: Float32Array, n: number, P: number, D: number): Float32Array {
  const out = new Float32Array(n * P * 2 * D);
  for (let i = 0; i < n; i++) for (let t = 0; t < P; t++) {
    const row = (i * P + t) * 2 * D;
    out.set(patch.subarray((i * P + t) * D, (i * P + t + 1) * D), row);
    out.set(cls.subarray(i * D, (i + 1) * D), row + D);
  }
  return out;
}

/** Solves A x = b for symmetric positive definite A [n, n] (Cholesky, float64). */
export function solveSpd(A: Float64Array, b: Float64Array, n: number): Float64Array {
  const Lm = new Float64Array(n * n);
  for (let i = 0; i < n; i++) {
    for (let j = 0; j <= i; j++) {
      let s = A[i * n + j] as number;
      for (let k = 0; k < j; k++) s -= (Lm[i * n + k] as number) * (Lm[j * n + k] as number);
      if (i === j) {
        if (!(s > 0)) throw new Error(`matrix is not positive definite (pivot ${i} = ${s})`);
        Lm[i * n + i] = Math.sqrt(s);
      } else Lm[i * n + j] = s / (Lm[j * n + j] as number);
    }
  }
  const y = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    let s = b[i] as number;
    for (let k = 0; k < i; k++) s -= (Lm[i * n + k] as number) * (y[k] as number);
    y[i] = s / (Lm[i * n + i] as number);
  }
  const x = new Float64Array(n);
  for (let i = n - 1; i >= 0; i--) {
    let s = y[i] as number;
    for (let k = i + 1; k < n; k++) s -= (Lm[k * n + i] as number) * (x[k] as number);
    x[i] = s / (Lm[i * n + i] as number);
  }
  return x;
}

function needDepth(s: VisionSplit, what: string): Float32Array {
  if (!s.depth) throw new Error(`depth probe: the ${what} split has no depth maps`);
  return s.depth;
}

/**
 * Normal equations of the pixel-level regression: with Z the upsampled features of valid pixels and a bias
 * column of ones, returns ZᵀZ [(F+1)²], Zᵀy [F+1] and the valid-pixel count. Accumulated at grid size: with U
 * the upsampling and D an image's valid-pixel mask, ZᵀZ = Σ Xᵀ·Uᵀ(D·U·X) and Zᵀy = Σ Xᵀ·Uᵀ(D·y), so the Gram
 * matmul has g² rows per image instead of L² (16× fewer at 8 → 32).
 */
export function normalEquations(x: Float32Array, split: VisionSplit, g: number, F: number, batchImages: number): { G: Float64Array; r: Float64Array; count: number } {
  const L = split.labelSize;
  const depth = needDepth(split, 'train');
  const n1 = F + 1;
  const G = new Float64Array(n1 * n1);
  const r = new Float64Array(n1);
  let count = 0;
  for (const [a, b] of batchRanges(split.n, batchImages)) {
    const m = b - a;
    const gt = depth.subarray(a * L * L, b * L * L);
    const mask = Float32Array.from(gt, (d) => (d > 0 ? 1 : 0));
    const y = Float32Array.from(gt, (d) => (d > 0 ? d : 0));
    const [gram, zy] = tf.tidy(() => {
      const feats = tf.concat([tf.tensor4d(x.subarray(a * g * g * F, b * g * g * F), [m, g, g, F]), tf.ones([m, g, g, 1])], 3) as tf.Tensor4D;
      const xt = tf.transpose(feats.reshape([m * g * g, n1])) as tf.Tensor2D;
      const masked = tf.mul(upsampleBilinear(feats, L), tf.tensor4d(mask, [m, L, L, 1])) as tf.Tensor4D;
      const back = upsampleAdjoint(masked, g).reshape([m * g * g, n1]) as tf.Tensor2D;
      const yBack = upsampleAdjoint(tf.tensor4d(y, [m, L, L, 1]), g).reshape([m * g * g, 1]) as tf.Tensor2D;
      return [matMul2d(xt, back), matMul2d(xt, yBack)];
    });
    const gd = gram.dataSync();
    const rd = zy.dataSync();
    for (let i = 0; i < gd.length; i++) G[i]! += gd[i] as number;
    for (let i = 0; i < rd.length; i++) r[i]! += rd[i] as number;
    gram.dispose();
    zy.dispose();
    for (const v of mask) count += v;
  }
  return { G, r, count };
}

export function depthProbe(cache: FeatureCache, splits: ProbeSplits, maxDepth: number, cfg: ProbeConfig): ProbeOutcome {
  if (!(maxDepth > 0)) throw new Error('depth probe: maxDepth must be positive');
  if (cfg.ridgeGrid.length === 0) throw new Error('depth probe: empty ridge grid');
  const raw = (s: VisionSplit): Float32Array => {
    const f = cache.get(s);
    return patchWithCls(f.patch, f.cls, f.n, f.grid * f.grid, f.dim);
  };
  const f0 = cache.get(splits.train);
  const F = 2 * f0.dim;
  const g = f0.grid;
  const trainRaw = raw(splits.train);
  const stats = columnStats(trainRaw, F);
  // Small chunks: each chunk's Gram is summed in float32 by the matmul kernel, chunks in float64.
  const { G, r, count } = normalEquations(standardize(trainRaw, stats), splits.train, g, F, 16);
  if (count === 0) throw new Error('depth probe: the train split has no valid depth pixel');
  const n1 = F + 1;
  const fit = (lambda: number): Float64Array => {
    // Ridge on the weights (not the bias), scaled by the pixel count so λ does not depend on the split size.
    const A = Float64Array.from(G);
    for (let i = 0; i < F; i++) A[i * n1 + i]! += lambda * count;
    return solveSpd(A, r, n1);
  };
  const predict = (s: VisionSplit, w: Float64Array): Float32Array => {
    const x = standardize(raw(s), stats);
    const L = s.labelSize;
    const out = new Float32Array(s.n * L * L);
    const wt = tf.tensor2d(Float32Array.from(w.subarray(0, F)), [F, 1]);
    try {
      for (const [a, b] of batchRanges(s.n, cfg.batchImages)) {
        const m = b - a;
        const d = tf.tidy(() => {
          const z = tf.add(matMul2d(tf.tensor2d(x.subarray(a * g * g * F, b * g * g * F), [m * g * g, F]), wt), w[F] as number);
          return tf.clipByValue(upsampleBilinear(z.reshape([m, g, g, 1]) as tf.Tensor4D, L), 1e-3, maxDepth);
        });
        out.set(d.dataSync(), a * L * L);
        d.dispose();
      }
    } finally {
      wt.dispose();
    }
    return out;
  };
  const validation: Record<string, number> = {};
  let best: { lambda: number; w: Float64Array; rmse: number } | undefined;
  const val = splits.validation;
  for (const lambda of cfg.ridgeGrid) {
    let w: Float64Array;
    try {
      w = fit(lambda);
    } catch {
      // Too weak a ridge for the float32 Gram's rounding: this grid point is unusable.
      validation[String(lambda)] = NaN;
      continue;
    }
    const per = depthPerImage(predict(val, w), needDepth(val, 'validation'), val.n, val.labelSize * val.labelSize).rmse;
    const rmse = per.reduce((a, v) => a + v, 0) / Math.max(1, per.length);
    validation[String(lambda)] = rmse;
    if (!best || rmse < best.rmse) best = { lambda, w, rmse };
  }
  if (!best) throw new Error(`depth probe: no ridge strength in ${JSON.stringify(cfg.ridgeGrid)} gave a solvable system; use larger values`);
  const chosen = best;
  const test = splits.test;
  const metrics = depthMetrics(predict(test, chosen.w), needDepth(test, 'test'), test.n, test.labelSize * test.labelSize);
  return { metrics, lr: chosen.lambda, validation };
}
