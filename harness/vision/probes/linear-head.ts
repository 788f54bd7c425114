/**
 * Fitting a linear head on frozen features: zero-initialised weights and bias, AdamW at a constant learning
 * rate without weight decay, a fixed number of passes over fixed minibatches (so a fit is deterministic),
 * and the learning rate chosen from a grid by the validation split.
 */
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../../optim/adamw.js';

export interface LinearHead {
  /** [inDim, outDim]. */
  w: tf.Tensor2D;
  /** [outDim]. */
  b: tf.Tensor1D;
}

export function disposeHead(h: LinearHead): void {
  h.w.dispose();
  h.b.dispose();
}

/**
 * Fits a [inDim -> outDim] head: `steps` AdamW updates at `lr`, step t using minibatch t mod `batches`;
 * `loss(i, head)` is the loss of minibatch i (called inside tidy).
 */
export function fitLinearHead(inDim: number, outDim: number, batches: number, steps: number, lr: number, loss: (i: number, h: LinearHead) => tf.Scalar): LinearHead {
  // Built inside tidy: tf.variable(t) does not release t, so the initial zeros would outlive the variables.
  let w!: tf.Variable<tf.Rank.R2>;
  let b!: tf.Variable<tf.Rank.R1>;
  let opt!: AdamW;
  tf.tidy(() => {
    w = tf.variable(tf.zeros([inDim, outDim]) as tf.Tensor2D);
    b = tf.variable(tf.zeros([outDim]) as tf.Tensor1D);
    opt = new AdamW({ lr, beta1: 0.9, beta2: 0.999, eps: 1e-8, weightDecay: 0, gradClip: 0, warmupSteps: 0, totalSteps: steps, minLrRatio: 1 }, { w, b });
  });
  const head: LinearHead = { w, b };
  try {
    for (let t = 0; t < steps; t++) {
      tf.tidy(() => {
        const [gw, gb] = tf.grads((wt: tf.Tensor, bt: tf.Tensor) => loss(t % batches, { w: wt as tf.Tensor2D, b: bt as tf.Tensor1D }))([w, b]);
        opt.apply({ w: gw as tf.Tensor, b: gb as tf.Tensor }).dispose();
      });
    }
  } finally {
    opt.dispose();
  }
  return head;
}

/** Result of a grid search: the chosen value, each value's validation score, and the chosen fit. */
export interface GridChoice<T> {
  lr: number;
  validation: Record<string, number>;
  fit: T;
}

/**
 * Fits at every learning rate, scores each on validation, keeps the best (first on ties) and disposes the rest.
 */
export function chooseLearningRate<T>(grid: readonly number[], fit: (lr: number) => T, score: (f: T) => number, higherIsBetter: boolean, dispose: (f: T) => void): GridChoice<T> {
  if (grid.length === 0) throw new Error('empty learning-rate grid');
  let best: { lr: number; fit: T; score: number } | undefined;
  const validation: Record<string, number> = {};
  for (const lr of grid) {
    const f = fit(lr);
    const s = score(f);
    validation[String(lr)] = s;
    const better = best === undefined || (Number.isFinite(s) && (!Number.isFinite(best.score) || (higherIsBetter ? s > best.score : s < best.score)));
    if (better) {
      if (best) dispose(best.fit);
      best = { lr, fit: f, score: s };
    } else dispose(f);
  }
  const b = best as { lr: number; fit: T; score: number };
  return { lr: b.lr, validation, fit: b.fit };
}

/** Minibatch boundaries [start, end) over n items. */
export function batchRanges(n: number, size: number): [number, number][] {
  const out: [number, number][] = [];
  for (let s = 0; s < n; s += size) out.push([s, Math.min(n, s + size)]);
  return out;
}
