/**
 * The DINO objective (Caron et al. 2021): the teacher's centred, sharpened softmax over the two global views is
 * the target for the student's softmax over every other view; the teacher follows the student by EMA with a
 * cosine momentum schedule, and the centre follows the teacher's mean output.
 */
import * as tf from '@tensorflow/tfjs';

/** DINO loss settings. */
export interface DinoConfig {
  /** Student softmax temperature. Default 0.1. */
  studentTemp: number;
  /** Teacher softmax temperature. Default 0.04. */
  teacherTemp: number;
  /** Centre EMA momentum. Default 0.9. */
  centerMomentum: number;
  /** Teacher EMA momentum at step 0, raised to 1 by a cosine over the run. Default 0.996. */
  teacherMomentum: number;
  /**
   * How the teacher's outputs are centred: 'ema' (DINO: subtract an EMA of the batch mean) or 'sinkhorn'
   * (DINOv2: 3 Sinkhorn-Knopp iterations over the batch, equal mass per prototype). Default 'ema'.
   */
  centering?: 'ema' | 'sinkhorn';
  /**
   * Weight of DINOv2/iBOT's masked-patch loss (objective.ts): the student's global views have patches blanked
   * and its blanked patch tokens match the teacher's Sinkhorn-centred patch distributions. 0 turns it off (the
   * teacher's last block then runs for CLS only). Default 0.
   */
  ibotWeight?: number;
  /** Probability that a global view is masked for iBOT. Default 0.5. */
  ibotMaskProb?: number;
  /** Fraction of a masked view's patches that are blanked, drawn uniformly from [lo, hi]. Default [0.1, 0.5]. */
  ibotMaskRatio?: [number, number];
  /** Weight of DINOv2's KoLeo regulariser on the student's global-view CLS features. Default 0. */
  koleoWeight?: number;
}

export const DEFAULT_DINO: DinoConfig = { studentTemp: 0.1, teacherTemp: 0.04, centerMomentum: 0.9, teacherMomentum: 0.996, centering: 'ema' };

/** Teacher momentum at `step` of `total`: 1 − (1 − m₀)(cos(π·step/total) + 1)/2 (m₀ at the start, 1 at the end). */
export function teacherMomentumAt(base: number, step: number, total: number): number {
  const t = total > 0 ? Math.min(1, step / total) : 1;
  return 1 - ((1 - base) * (Math.cos(Math.PI * t) + 1)) / 2;
}

/** Teacher targets softmax((t − c)/τ_t) [N, K] from teacher logits t [N, K] and centre c [K]. */
export function teacherTargets(logits: tf.Tensor2D, center: tf.Tensor1D, teacherTemp: number): tf.Tensor2D {
  return tf.softmax(tf.div(tf.sub(logits, center), teacherTemp)) as tf.Tensor2D;
}

/**
 * Sinkhorn-Knopp teacher targets (SwAV, DINOv2) from teacher logits [N, K]: Q = exp(t/τ), then `iters` rounds of
 * scaling every prototype's column to mass 1/K and every row to mass 1/N; rows of the result sum to 1. The batch
 * is shared equally among prototypes, so neither one prototype nor the uniform distribution can take over.
 */
export function sinkhornTargets(logits: tf.Tensor2D, teacherTemp: number, iters = 3): tf.Tensor2D {
  return tf.tidy(() => {
    const [N, K] = logits.shape;
    // Subtracting the global maximum leaves Q's normalised value unchanged and keeps exp in range.
    let q = tf.exp(tf.div(tf.sub(logits, tf.max(logits)), teacherTemp));
    q = tf.div(q, tf.sum(q));
    for (let i = 0; i < iters; i++) {
      q = tf.div(tf.div(q, tf.sum(q, 0, true)), K);
      q = tf.div(tf.div(q, tf.sum(q, 1, true)), N);
    }
    return tf.mul(q, N) as tf.Tensor2D;
  });
}

/** The teacher's targets under `dino.centering` (the centre is used by 'ema' only). */
export function dinoTargets(logits: tf.Tensor2D, center: tf.Tensor1D, dino: DinoConfig): tf.Tensor2D {
  return dino.centering === 'sinkhorn' ? sinkhornTargets(logits, dino.teacherTemp) : teacherTargets(logits, center, dino.teacherTemp);
}

/**
 * Mean over (teacher global view i, student view v ≠ i) pairs and images of −Σ_k q_i[k]·log softmax(s_v/τ_s)[k].
 * `student` is [nViews·B, K], view-major with the 2 global views first; `targets` is [2·B, K], view-major.
 * Σ_{v≠i} log p_v = (Σ_v log p_v) − log p_i, so all pairs cost one sum.
 */
export function dinoLoss(student: tf.Tensor2D, targets: tf.Tensor2D, B: number, studentTemp: number): tf.Scalar {
  const K = student.shape[1];
  const nViews = student.shape[0] / B;
  if (!Number.isInteger(nViews) || nViews < 2) throw new Error(`student logits ${student.shape[0]} rows are not a multiple ≥ 2 of batch ${B}`);
  const logp = tf.logSoftmax(tf.div(student, studentTemp)).reshape([nViews, B, K]);
  const sumAll = tf.sum(logp, 0, true);
  const others = tf.sub(sumAll, tf.slice(logp, [0, 0, 0], [2, B, K]));
  const cross = tf.sum(tf.mul(targets.reshape([2, B, K]), others));
  return tf.div(tf.neg(cross), 2 * (nViews - 1) * B) as tf.Scalar;
}

/** New centre m·c + (1 − m)·mean over rows of the teacher logits. */
export function updatedCenter(center: tf.Tensor1D, teacherLogits: tf.Tensor2D, momentum: number): tf.Tensor1D {
  return tf.add(tf.mul(center, momentum), tf.mul(tf.mean(teacherLogits, 0), 1 - momentum));
}

/** Mean entropy (nats) of the rows of a probability matrix: near 0 or near log K both signal collapse. */
export function meanEntropy(probs: tf.Tensor2D): tf.Scalar {
  return tf.neg(tf.mean(tf.sum(tf.mul(probs, tf.log(tf.add(probs, 1e-12))), 1))) as tf.Scalar;
}
