/**
 * Top-K candidate sets and the soft targets built on them (METHOD.md §3):
 * C_t = {w_t} ∪ top-(K−1) of the detached learner distribution with w_t excluded (column 0 is w_t), and
 * q_t = (1 − α_t)·onehot(w_t) + α_t·r_t with r_t a distribution over C_t.
 */
import * as tf from '@tensorflow/tfjs';
import { pickColumns, scatterColumns, topKExcluding } from '../../engine/ops.js';

export interface Candidates {
  /** [N, K] int32 token ids; column 0 is the true next token. */
  ids: tf.Tensor2D;
  /** [N, K] detached learner logits of the candidates. */
  logits: tf.Tensor2D;
}

export function topKCandidates(logits: tf.Tensor2D, targets: tf.Tensor1D, k: number): Candidates {
  const V = logits.shape[1];
  if (k > V) throw new Error(`topK ${k} exceeds the vocabulary size ${V}`);
  const truth = targets.toInt().expandDims(1) as tf.Tensor2D;
  const trueLogit = pickColumns(logits, truth);
  const others = topKExcluding(logits, targets, k - 1);
  return {
    ids: tf.concat([truth, others.indices], 1) as tf.Tensor2D,
    logits: tf.concat([trueLogit, others.values], 1) as tf.Tensor2D,
  };
}

/** Dense [N, V] from weights [N, K] over candidate ids [N, K] (candidates are distinct per row). */
export function scatterCandidates(ids: tf.Tensor2D, weights: tf.Tensor2D, vocabSize: number): tf.Tensor2D {
  return scatterColumns(ids, weights, vocabSize);
}

/**
 * Candidate weights of q: (1 − α)·e_0 + α·r, for α [N] (or a number) and r [N, K] rows summing to 1.
 */
export function mixWeights(alpha: tf.Tensor1D | number, r: tf.Tensor2D): tf.Tensor2D {
  const K = r.shape[1];
  const e0 = tf.concat([tf.ones([r.shape[0], 1]), tf.zeros([r.shape[0], K - 1])], 1);
  const a = typeof alpha === 'number' ? tf.scalar(alpha) : alpha.expandDims(1);
  return tf.add(tf.mul(tf.sub(1, a), e0), tf.mul(a, r)) as tf.Tensor2D;
}
