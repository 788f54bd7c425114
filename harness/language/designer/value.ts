/**
 * The value estimator (METHOD.md §2). With S the last blocks + final norm + head:
 *   V(φ) = g_downᵀ g_pre(φ),  g_pre(φ) = ∇_θS L_pre(θ; q_φ),  L_pre = −(1/M) Σ_t m_t Σ_{c∈C_t} q_φ(t,c) log p_θ(c|t).
 * L_pre is linear in q, so V(φ) = −(1/M) Σ_t m_t Σ_c q_φ(t,c)·D(t,c), where D(t,c) = g_downᵀ∇_θS log p_θ(c|t)
 * is a directional derivative that does not depend on φ. D is computed by central differences along ĝ_down
 * (two forwards of S from cached activations below S; or forward differences from the learner's own forward,
 * one S-forward), and ∇_φ V by ordinary backprop through the designer. This is the DARTS finite-difference
 * form of the mixed Hessian-vector product, exact up to O(ε²) (O(ε) with forward differences).
 */
import * as tf from '@tensorflow/tfjs';
import { globalNorm, pickColumns, rowLogSumExp, scatterRows } from '../../engine/ops.js';
import { hostValues } from '../../engine/read.js';
import { forwardFrom, forwardFromAtRows, headAtColumns, hiddenBelow, lastHiddenAtRows, runBlocks, type Params } from '../model/gpt.js';
import { maskedNll, softCrossEntropy } from '../model/loss.js';
import type { LanguageModel } from '../model/model.js';
import type { BatchTensors } from '../train/batches.js';
import type { Grads } from '../../engine/grads.js';

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

/**
 * Logits of S at `rows` only: attention runs over every position (the causal context), the last block's
 * projection and MLP, the final norm and the head only where a loss reads them (answer tokens: about half).
 */
function logitsAtRows(model: LanguageModel, s: Subset, p: Params, hidden: tf.Tensor2D, ids: tf.Tensor2D, rows: tf.Tensor1D): tf.Tensor2D {
  const [B, T] = ids.shape;
  return forwardFromAtRows(model.cfg, p, hidden, B, T, s.from, rows);
}

/**
 * Indices (int32) of the rows whose mask is not 0; undefined when every row or no row counts (nothing to skip).
 * Reads the host copy of a batch's mask (no device sync; WebGPU has none inside a step).
 */
export function maskedRows(mask: tf.Tensor1D): tf.Tensor1D | undefined {
  const m = hostValues(mask);
  const rows: number[] = [];
  for (let i = 0; i < m.length; i++) if (m[i] !== 0) rows.push(i);
  return rows.length === 0 || rows.length === m.length ? undefined : tf.tensor1d(rows, 'int32');
}

/** g_down: detached gradient over S of the teacher-forced answer NLL on a feedback batch (head on answer rows only). */
export function downstreamGrad(model: LanguageModel, s: Subset, fb: BatchTensors): { loss: tf.Scalar; grads: Grads } {
  const hidden = tf.tidy(() => hiddenBelow(model.cfg, model.params, fb.ids, s.from));
  const rows = maskedRows(fb.mask);
  const { value, grads } = rows
    ? tf.tidy(() => {
      const targets = tf.gather(fb.targets, rows) as tf.Tensor1D;
      const ones = tf.ones([rows.size]) as tf.Tensor1D;
      return subsetGrad(model, s, (p) => maskedNll(logitsAtRows(model, s, p, hidden, fb.ids, rows), targets, ones));
    })
    : subsetGrad(model, s, (p) => maskedNll(logitsFromHidden(model, s, p, hidden, fb.ids), fb.targets, fb.mask));
  tf.dispose([hidden, rows]);
  return { loss: value, grads };
}

/** g_pre: gradient over S of the learner's loss against fixed targets q. */
export function pretrainGrad(model: LanguageModel, s: Subset, b: BatchTensors, hidden: tf.Tensor2D, q: tf.Tensor2D): Grads {
  const { value, grads } = subsetGrad(model, s, (p) => softCrossEntropy(logitsFromHidden(model, s, p, hidden, b.ids), q, b.mask));
  value.dispose();
  return grads;
}

/** log p_θ at the candidates ids [N, K] from logits [N, V]: logit − log Σ exp (forward only). */
export function candidateLogp(logits: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  return tf.sub(pickColumns(logits, ids), rowLogSumExp(logits)) as tf.Tensor2D;
}

/**
 * D[n,k] = dirᵀ ∇_θS log p_θ(c_k | n), by central differences with step ε along the unit direction:
 * (log p(θ+εd̂) − log p(θ−εd̂)) / 2ε · ‖dir‖; or, given `center` (log p_θ at the candidates, from a forward
 * already done), by forward differences (log p(θ+εd̂) − center) / ε · ‖dir‖, one S-forward instead of two.
 * With `mask`, only rows whose mask is not 0 are computed (the value reads no others) and the rest of D is 0.
 * Runs inside the caller's tidy.
 */
export function directionalLogp(
  model: LanguageModel,
  s: Subset,
  hidden: tf.Tensor2D,
  ids: tf.Tensor2D,
  candIds: tf.Tensor2D,
  dir: Grads,
  eps: number,
  mask?: tf.Tensor1D,
  center?: tf.Tensor2D,
): tf.Tensor2D {
  const [B, T] = ids.shape;
  return directional(model, s, dir, eps, candIds, mask, center, (p, rows, cands) => {
    const logits = rows ? forwardFromAtRows(model.cfg, p, hidden, B, T, s.from, rows) : forwardFrom(model.cfg, p, hidden, B, T, s.from);
    return candidateLogp(logits, cands);
  });
}

/**
 * D′[n,k] = dirᵀ ∇_θS z_θ(c_k | n), the directional derivative of the candidates' logits: D minus the per-row
 * term dirᵀ∇_θS log Σ_v exp z_θ(v | n), which does not depend on the candidate weights. Weights w that sum to 1
 * in every row (the designer's always do) give valueOfWeights(w, D′) = V(w) − C with C independent of w, so the
 * designer's gradient is the same as with D, exactly; the head runs at each row's K candidate columns only
 * (N·K·D work instead of N·V·D, no log-sum-exp). `center`: the candidates' logits at θ (from the learner's
 * forward) for forward differences. Same differences, ε and `mask` as `directionalLogp`.
 */
export function directionalLogits(...[model, s, hidden, ids, candIds, dir, eps, mask, center]: Parameters<typeof directionalLogp>): tf.Tensor2D {
  const [B, T] = ids.shape;
  return directional(model, s, dir, eps, candIds, mask, center, (p, rows, cands) => {
    const out = rows ? lastHiddenAtRows(model.cfg, p, hidden, B, T, s.from, rows) : runBlocks(model.cfg, p, hidden, B, T, s.from, model.cfg.nLayer);
    return headAtColumns(model.cfg, p, out, cands);
  });
}

/** Differences of `at` (a function of S's parameters, the rows computed, and those rows' candidates) along `dir`. */
function directional(
  model: LanguageModel,
  s: Subset,
  dir: Grads,
  eps: number,
  candIds: tf.Tensor2D,
  mask: tf.Tensor1D | undefined,
  center: tf.Tensor2D | undefined,
  at: (p: Params, rows: tf.Tensor1D | undefined, cands: tf.Tensor2D) => tf.Tensor2D,
): tf.Tensor2D {
  const norm = globalNorm(Object.values(dir));
  const rows = mask ? maskedRows(mask) : undefined;
  const sel = (x: tf.Tensor2D): tf.Tensor2D => (rows ? (tf.gather(x, rows) as tf.Tensor2D) : x);
  const cands = sel(candIds);
  const shifted = (sign: number): tf.Tensor2D => {
    const p: Params = { ...model.params };
    for (const n of s.names) p[n] = tf.add(model.params[n] as tf.Tensor, tf.mul(dir[n] as tf.Tensor, tf.div(sign * eps, norm)));
    return at(p, rows, cands);
  };
  const D = (center
    ? tf.mul(tf.div(tf.sub(shifted(1), sel(center)), eps), norm)
    : tf.mul(tf.div(tf.sub(shifted(1), shifted(-1)), 2 * eps), norm)) as tf.Tensor2D;
  return rows ? scatterRows(D, rows, candIds.shape[0]) : D;
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
