/**
 * The value estimator (METHOD.md §2). With S the last blocks + final norm + head:
 *   V(φ) = g_downᵀ g_pre(φ),  g_pre(φ) = ∇_θS L_pre(θ; q_φ),  L_pre = −(1/M) Σ_t m_t Σ_{c∈C_t} q_φ(t,c) log p_θ(c|t).
 * L_pre is linear in q, so V(φ) = −(1/M) Σ_t m_t Σ_c q_φ(t,c)·D(t,c), where D(t,c) = g_downᵀ∇_θS log p_θ(c|t)
 * is a directional derivative that does not depend on φ. D is computed by central differences along ĝ_down
 * (two forwards of S from cached activations below S), and ∇_φ V by ordinary backprop through the designer.
 * This is the DARTS finite-difference form of the mixed Hessian-vector product, exact up to O(ε²).
 */
import * as tf from '@tensorflow/tfjs';
import { globalNorm, pickColumns, rowLogSumExp } from '../engine/ops.js';
import { forwardFrom, hiddenBelow, type Params } from '../lm/gpt.js';
import { maskedNll, softCrossEntropy } from '../lm/loss.js';
import type { LanguageModel } from '../lm/model.js';
import type { BatchTensors } from '../lm/batches.js';

export type Grads = Record<string, tf.Tensor>;

/** Where S starts and which parameters it holds. */
export interface Subset {
  from: number;
  names: string[];
}

/** ∇_θS of f(params) where only S varies; activations below S come from `hidden` (a constant). */
export function subsetGrad(model: LanguageModel, s: Subset, loss: (p: Params) => tf.Scalar): { value: tf.Scalar; grads: Grads } {
  const f = (...xs: tf.Tensor[]): tf.Scalar => {
    const p: Params = { ...model.params };
    s.names.forEach((n, i) => (p[n] = xs[i] as tf.Tensor));
    return loss(p);
  };
  const { value, grads } = tf.valueAndGrads(f)(s.names.map((n) => model.params[n] as tf.Tensor));
  const out: Grads = {};
  s.names.forEach((n, i) => (out[n] = grads[i] as tf.Tensor));
  return { value, grads: out };
}

/** Logits from S given the activations below it. */
function logitsFromHidden(model: LanguageModel, s: Subset, p: Params, hidden: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = ids.shape;
  return forwardFrom(model.cfg, p, hidden, B, T, s.from);
}

/** g_down: detached gradient over S of the teacher-forced answer NLL on a feedback batch. */
export function downstreamGrad(model: LanguageModel, s: Subset, fb: BatchTensors): { loss: tf.Scalar; grads: Grads } {
  const hidden = tf.tidy(() => hiddenBelow(model.cfg, model.params, fb.ids, s.from));
  const { value, grads } = subsetGrad(model, s, (p) => maskedNll(logitsFromHidden(model, s, p, hidden, fb.ids), fb.targets, fb.mask));
  hidden.dispose();
  return { loss: value, grads };
}

/** g_pre: gradient over S of the learner's loss against fixed targets q. */
export function pretrainGrad(model: LanguageModel, s: Subset, b: BatchTensors, hidden: tf.Tensor2D, q: tf.Tensor2D): Grads {
  const { value, grads } = subsetGrad(model, s, (p) => softCrossEntropy(logitsFromHidden(model, s, p, hidden, b.ids), q, b.mask));
  value.dispose();
  return grads;
}

export function dot(a: Grads, b: Grads): tf.Scalar {
  return tf.addN(Object.keys(a).map((k) => tf.sum(tf.mul(a[k] as tf.Tensor, b[k] as tf.Tensor)))) as tf.Scalar;
}

/** log p_θ at the candidates ids [N, K] from logits [N, V]: logit − log Σ exp (forward only). */
export function candidateLogp(logits: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(pickColumns(logits, ids), rowLogSumExp(logits)) as tf.Tensor2D;
}

/**
 * D[n,k] = dirᵀ ∇_θS log p_θ(c_k | n), by central differences with step ε along the unit direction:
 * (log p(θ+εd̂) − log p(θ−εd̂)) / 2ε · ‖dir‖. Runs inside the caller's tidy.
 */
export function directionalLogp(
  model: LanguageModel,
  s: Subset,
  hidden: tf.Tensor2D,
  ids: tf.Tensor2D,
  candIds: tf.Tensor2D,
  dir: Grads,
  eps: number,
): tf.Tensor2D {
  const norm = globalNorm(Object.values(dir));
  const shifted = (sign: number): tf.Tensor2D => {
    const p: Params = { ...model.params };
    for (const n of s.names) p[n] = tf.add(model.params[n] as tf.Tensor, tf.mul(dir[n] as tf.Tensor, tf.div(sign * eps, norm)));
    return candidateLogp(logitsFromHidden(model, s, p, hidden, ids), candIds);
  };
  return tf.mul(tf.div(tf.sub(shifted(1), shifted(-1)), 2 * eps), norm) as tf.Tensor2D;
}

/** V(w) = −(1/M) Σ_n m_n Σ_k w[n,k] D[n,k]: the value of candidate weights w given the directional term D. */
export function valueOfWeights(w: tf.Tensor2D, D: tf.Tensor2D, mask: tf.Tensor1D): tf.Scalar {
  const perToken = tf.sum(tf.mul(w, D), -1);
  return tf.neg(tf.div(tf.sum(tf.mul(perToken, mask)), tf.maximum(tf.sum(mask), 1))) as tf.Scalar;
}

/**
 * The cosine designer loss −cos(g_down, g_pre(w)) as a function of candidate weights w, exact in value and
 * gradient at the current weights w0:
 *   ∇cos = ∇V/(‖g_d‖‖g_p‖) − V·∇(ḡ_pᵀg_p)/(‖g_d‖‖g_p‖³),  ḡ_p = g_pre(w0) detached,
 * where ḡ_pᵀg_p(w) is the value of w along ḡ_p (directional term `Dpre`, like `D` along g_down).
 */
export function cosineLoss(
  w0: tf.Tensor2D,
  D: tf.Tensor2D,
  Dpre: tf.Tensor2D,
  mask: tf.Tensor1D,
  normDown: tf.Scalar,
  normPre: tf.Scalar,
): { loss: (w: tf.Tensor2D) => tf.Scalar; cosine: tf.Scalar } {
  const v0 = valueOfWeights(w0, D, mask);
  const a = tf.div(1, tf.mul(normDown, normPre));
  const b = tf.div(v0, tf.mul(normDown, tf.pow(normPre, 3)));
  return {
    loss: (w) => tf.neg(tf.sub(tf.mul(valueOfWeights(w, D, mask), a), tf.mul(valueOfWeights(w, Dpre, mask), b))) as tf.Scalar,
    cosine: tf.mul(v0, a) as tf.Scalar,
  };
}

/** Pearson correlation; NaN when either side has no spread. */
export function pearson(x: readonly number[], y: readonly number[]): number {
  const n = x.length;
  const mx = x.reduce((a, b) => a + b, 0) / n;
  const my = y.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  let syy = 0;
  for (let i = 0; i < n; i++) {
    const dx = (x[i] as number) - mx;
    const dy = (y[i] as number) - my;
    sxy += dx * dy;
    sxx += dx * dx;
    syy += dy * dy;
  }
  return sxx > 0 && syy > 0 ? sxy / Math.sqrt(sxx * syy) : NaN;
}
