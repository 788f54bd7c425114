/** Token-level losses shared by every arm, so that "the same loss" is literally the same code. */
import * as tf from '@tensorflow/tfjs';

/**
 * Masked soft cross-entropy: −Σ_n m_n Σ_v q[n,v]·log softmax(logits)[n,v] / Σ_n m_n.
 * With q one-hot this is ordinary next-token cross-entropy.
 */
export function softCrossEntropy(logits: tf.Tensor2D, q: tf.Tensor2D, mask: tf.Tensor1D): tf.Scalar {
  const logp = tf.logSoftmax(logits);
  const perToken = tf.neg(tf.sum(tf.mul(q, logp), -1));
  return tf.div(tf.sum(tf.mul(perToken, mask)), tf.maximum(tf.sum(mask), 1)) as tf.Scalar;
}

/** One-hot targets [N, V]. */
export function oneHotTargets(targets: tf.Tensor1D, vocabSize: number): tf.Tensor2D {
  return tf.oneHot(targets, vocabSize).toFloat() as tf.Tensor2D;
}

/** Masked next-token NLL (one-hot cross-entropy), as used for the downstream loss. */
export function maskedNll(logits: tf.Tensor2D, targets: tf.Tensor1D, mask: tf.Tensor1D): tf.Scalar {
  return softCrossEntropy(logits, oneHotTargets(targets, logits.shape[1]), mask);
}
