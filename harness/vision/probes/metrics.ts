/**
 * Probe metrics, written to match the published definitions:
 *   - mIoU (mmseg): intersection and union summed over the whole dataset per class, IoU = I/U, mean over the
 *     classes whose union is non-zero (absent from both prediction and ground truth: excluded); pixels whose
 *     ground truth is the ignore label count for nothing. Pixel accuracy = ΣI / Σ(valid pixels).
 *   - depth (Eigen et al.): on valid pixels (gt > 0) of each image, RMSE = √mean (p − g)², AbsRel =
 *     mean |p − g|/g, δ1 = share with max(p/g, g/p) < 1.25; each averaged over images.
 *   - top-1 accuracy.
 * stderr: sample sd / √n over images for per-image metrics; a seeded bootstrap over images for the
 * dataset-level segmentation metrics.
 */
import { Rng } from '../../engine/rng.js';
import { IGNORE_LABEL } from '../data/types.js';
import type { MetricValue } from '../../results/schema.js';

export type { MetricValue };

/** Whether larger is better, by metric name (the part of the key before the comma). */
export const PROBE_HIGHER_IS_BETTER: Record<string, boolean> = {
  miou: true,
  pixel_acc: true,
  rmse: false,
  absrel: false,
  delta1: true,
  top1: true,
};

/** Per-image, per-class pixel counts: intersection, predicted, ground truth (valid pixels only). */
export interface SegCounts {
  numClasses: number;
  n: number;
  /** [n, C] each. */
  inter: Float64Array;
  pred: Float64Array;
  gt: Float64Array;
}

/** Counts for `n` images of `pixels` pixels each; `pred` and `gt` are class ids, gt may hold IGNORE_LABEL. */
export function segmentationCounts(pred: ArrayLike<number>, gt: ArrayLike<number>, n: number, pixels: number, numClasses: number): SegCounts {
  const C = numClasses;
  const c: SegCounts = { numClasses: C, n, inter: new Float64Array(n * C), pred: new Float64Array(n * C), gt: new Float64Array(n * C) };
  for (let i = 0; i < n; i++) {
    for (let j = 0; j < pixels; j++) {
      const g = gt[i * pixels + j] as number;
      if (g === IGNORE_LABEL) continue;
      if (g < 0 || g >= C) throw new Error(`ground-truth class ${g} outside [0, ${C}) at image ${i}, pixel ${j}`);
      const p = pred[i * pixels + j] as number;
      c.gt[i * C + g]! += 1;
      if (p >= 0 && p < C) c.pred[i * C + p]! += 1;
      if (p === g) c.inter[i * C + g]! += 1;
    }
  }
  return c;
}

/** mIoU and pixel accuracy of the images `which` (default all; repeats allowed, for the bootstrap). */
export function segmentationScores(c: SegCounts, which?: readonly number[]): { miou: number; pixelAcc: number; classes: number } {
  const C = c.numClasses;
  const I = new Float64Array(C);
  const P = new Float64Array(C);
  const G = new Float64Array(C);
  const imgs = which ?? Array.from({ length: c.n }, (_, i) => i);
  for (const i of imgs) for (let k = 0; k < C; k++) {
    I[k]! += c.inter[i * C + k] as number;
    P[k]! += c.pred[i * C + k] as number;
    G[k]! += c.gt[i * C + k] as number;
  }
  let sum = 0;
  let classes = 0;
  let correct = 0;
  let valid = 0;
  for (let k = 0; k < C; k++) {
    const union = (P[k] as number) + (G[k] as number) - (I[k] as number);
    correct += I[k] as number;
    valid += G[k] as number;
    if (union > 0) {
      sum += (I[k] as number) / union;
      classes++;
    }
  }
  return { miou: classes > 0 ? sum / classes : NaN, pixelAcc: valid > 0 ? correct / valid : NaN, classes };
}

function sd(xs: readonly number[]): number {
  if (xs.length < 2) return NaN;
  const m = xs.reduce((a, b) => a + b, 0) / xs.length;
  return Math.sqrt(xs.reduce((a, b) => a + (b - m) ** 2, 0) / (xs.length - 1));
}

/** `miou,none` and `pixel_acc,none` (as fractions) with bootstrap stderr over images. */
export function segmentationMetrics(c: SegCounts, bootstrap = 200, seed = 0): Record<string, MetricValue> {
  const full = segmentationScores(c);
  const rng = new Rng(seed);
  const mious: number[] = [];
  const accs: number[] = [];
  for (let b = 0; b < bootstrap && c.n > 1; b++) {
    const s = segmentationScores(c, Array.from({ length: c.n }, () => rng.int(0, c.n - 1)));
    if (Number.isFinite(s.miou)) mious.push(s.miou);
    if (Number.isFinite(s.pixelAcc)) accs.push(s.pixelAcc);
  }
  return {
    'miou,none': { value: full.miou, stderr: sd(mious), n: c.n },
    'pixel_acc,none': { value: full.pixelAcc, stderr: sd(accs), n: c.n },
  };
}

/** Per-image depth errors on valid pixels; images without a valid pixel are left out. */
export function depthPerImage(pred: ArrayLike<number>, gt: ArrayLike<number>, n: number, pixels: number): { rmse: number[]; absrel: number[]; delta1: number[] } {
  const out = { rmse: [] as number[], absrel: [] as number[], delta1: [] as number[] };
  for (let i = 0; i < n; i++) {
    let se = 0;
    let rel = 0;
    let good = 0;
    let valid = 0;
    for (let j = 0; j < pixels; j++) {
      const g = gt[i * pixels + j] as number;
      if (!(g > 0)) continue;
      const p = pred[i * pixels + j] as number;
      valid++;
      se += (p - g) ** 2;
      rel += Math.abs(p - g) / g;
      if (Math.max(p / g, g / p) < 1.25) good++;
    }
    if (valid === 0) continue;
    out.rmse.push(Math.sqrt(se / valid));
    out.absrel.push(rel / valid);
    out.delta1.push(good / valid);
  }
  return out;
}

function meanValue(xs: readonly number[]): MetricValue {
  const n = xs.length;
  const m = n > 0 ? xs.reduce((a, b) => a + b, 0) / n : NaN;
  return { value: m, stderr: n > 1 ? sd(xs) / Math.sqrt(n) : NaN, n };
}

/** `rmse,none`, `absrel,none`, `delta1,none`: per image on valid pixels, then averaged. */
export function depthMetrics(pred: ArrayLike<number>, gt: ArrayLike<number>, n: number, pixels: number): Record<string, MetricValue> {
  const d = depthPerImage(pred, gt, n, pixels);
  return { 'rmse,none': meanValue(d.rmse), 'absrel,none': meanValue(d.absrel), 'delta1,none': meanValue(d.delta1) };
}

/** `top1,none` as a fraction. */
export function top1Metric(pred: ArrayLike<number>, gold: ArrayLike<number>): Record<string, MetricValue> {
  const hits = Array.from({ length: gold.length }, (_, i) => (pred[i] === gold[i] ? 1 : 0));
  return { 'top1,none': meanValue(hits) };
}
