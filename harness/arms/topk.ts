/**
 * Top-K candidate sets and the soft targets built on them (METHOD.md §3):
 * C_t = {w_t} ∪ top-(K−1) of the detached learner distribution with w_t excluded (column 0 is w_t), and
 * q_t = (1 − α_t)·onehot(w_t) + α_t·r_t with r_t a distribution over C_t.
 */
import * as tf from '@tensorflow/tfjs';

export interface Candidates {
  /** [N, K] int32 token ids; column 0 is the true next token. */
  ids: tf.Tensor2D;
  /** [N, K] detached learner logits of the candidates. */
  logits: tf.Tensor2D;
}

export function topKCandidates(logits: tf.Tensor2D, targets: tf.Tensor1D, k: number): Candidates {
  const V = logits.shape[1];
  if (k > V) throw new Error(`topK ${k} exceeds the vocabulary size ${V}`);
  const hot = tf.oneHot(targets, V).toFloat();
  const trueLogit = tf.sum(tf.mul(logits, hot), -1, true);
  const others = tf.topk(tf.sub(logits, tf.mul(hot, 1e9)), k - 1);
  return {
    ids: tf.concat([targets.toInt().expandDims(1), others.indices], 1) as tf.Tensor2D,
    logits: tf.concat([trueLogit, others.values], 1) as tf.Tensor2D,
  };
}

/** Dense [N, V] from weights [N, K] over candidate ids [N, K] (candidates are distinct per row). */
export function scatterCandidates(ids: tf.Tensor2D, weights: tf.Tensor2D, vocabSize: number): tf.Tensor2D {
  const K = ids.shape[1];
  const cols = tf.unstack(ids, 1);
  const ws = tf.unstack(weights, 1);
  let q: tf.Tensor = tf.mul(tf.oneHot(cols[0] as tf.Tensor1D, vocabSize).toFloat(), (ws[0] as tf.Tensor).expandDims(1));
  for (let k = 1; k < K; k++) q = tf.add(q, tf.mul(tf.oneHot(cols[k] as tf.Tensor1D, vocabSize).toFloat(), (ws[k] as tf.Tensor).expandDims(1)));
  return q as tf.Tensor2D;
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
