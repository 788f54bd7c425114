/** Token-level losses shared by every arm, so that "the same loss" is literally the same code. */
import * as tf from '@tensorflow/tfjs';
import { hostValues } from '../../engine/read.js';
import { fastKernels, runVpt } from '../../engine/wasm/runtime.js';

/**
 * Soft cross-entropy on vpt's kernels: one pass per row for max, Σexp, Σq and Σq·x (log-softmax is never
 * materialised), and the backward in one pass: ∂/∂x = (softmax(x)·Σq − q)·m/M. Differentiable in the logits
 * only: the targets and the mask are constants (they are built off the tape).
 */
function fastSoftCrossEntropy(logits: tf.Tensor2D, q: tf.Tensor2D, mask: tf.Tensor1D): tf.Scalar {
  const m = hostValues(mask);
  let M = 0;
  for (let i = 0; i < m.length; i++) M += m[i] as number;
  M = Math.max(M, 1);
  const N = logits.shape[0];
  return tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
    const st = runVpt('VptRowStats', { x, q }).dataSync();
    const lse = new Float32Array(N);
    const qsum = new Float32Array(N);
    let total = 0;
    for (let n = 0; n < N; n++) {
      const l = (st[4 * n] as number) + Math.log(st[4 * n + 1] as number);
      lse[n] = l;
      qsum[n] = st[4 * n + 2] as number;
      // −Σ_v q·log softmax = Σq·lse − Σq·x
      if (m[n] !== 0) total += (m[n] as number) * (l * (st[4 * n + 2] as number) - (st[4 * n + 3] as number));
    }
    // q is saved, not an input: the targets are constants, and asking for their gradient fails loudly.
    save([x, q]);
    return {
      value: tf.scalar(total / M),
      gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
        const g = (dy.dataSync()[0] as number) / M;
        const coef = new Float32Array(3 * N);
        for (let n = 0; n < N; n++) {
          const s = (m[n] as number) * g;
          coef[3 * n] = lse[n] as number;
          coef[3 * n + 1] = (qsum[n] as number) * s;
          coef[3 * n + 2] = s;
        }
        const [sx, sq] = saved as [tf.Tensor, tf.Tensor];
        return [runVpt('VptCeGrad', { x: sx, q: sq, coef: tf.tensor2d(coef, [N, 3]) })];
      },
    };
  }) as unknown as Parameters<typeof tf.customGrad>[0])(logits) as tf.Scalar;
}

/**
 * Masked soft cross-entropy: −Σ_n m_n Σ_v q[n,v]·log softmax(logits)[n,v] / Σ_n m_n.
 * With q one-hot this is ordinary next-token cross-entropy. (On vpt's kernels: differentiable in the logits.)
 */
export function softCrossEntropy(logits: tf.Tensor2D, q: tf.Tensor2D, mask: tf.Tensor1D): tf.Scalar {
  if (fastKernels()) return fastSoftCrossEntropy(logits, q, mask);
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
