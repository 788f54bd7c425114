/**
 * Tensor helpers written for the wasm fast paths (see ../shared/ENGINE.md): 2-D matMul without transposes,
 * with a custom gradient that transposes explicitly (the stock gradient uses the slow transposed forms).
 */
import * as tf from '@tensorflow/tfjs';

/** a[M,K] @ b[K,N] whose backward pass also stays on the fast untransposed path. */
export const matMul2d = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as unknown as Parameters<typeof tf.customGrad>[0]) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** x[N,D] @ w[D,F] + bias[F]. */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  const y = matMul2d(x, w);
  return bias ? tf.add(y, bias) : y;
}

/** LayerNorm over the last axis. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

/** Exact (erf) GELU: measured slightly faster than the tanh form on wasm. */
export function gelu(x: tf.Tensor): tf.Tensor {
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** Row-wise embedding lookup with a gradient on wasm (tf.gather has none there). */
export function embed(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  return matMul2d(tf.oneHot(ids, table.shape[0]).toFloat() as tf.Tensor2D, table);
}

/** Global L2 norm of a list of tensors, as a scalar tensor. */
export function globalNorm(ts: tf.Tensor[]): tf.Scalar {
  return tf.sqrt(tf.addN(ts.map((t) => tf.sum(tf.square(t))))) as tf.Scalar;
}

/** The part of the tfjs engine state that decides whether ops are recorded for backprop (tfjs 4.22). */
interface TapeState {
  gradientDepth: number;
  activeTape: unknown;
}

/**
 * Runs `fn` with the gradient tape paused: nothing it computes is recorded or saved for the enclosing
 * gradient (no tape history, no saved copies), so its results are constants to that gradient. Gradients
 * taken inside `fn` get a tape of their own. tfjs has no public pause; this swaps the engine's tape state
 * (pinned tfjs 4.22) and restores it, even on error.
 */
export function withoutTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: TapeState }).state;
  const saved: TapeState = { gradientDepth: state.gradientDepth, activeTape: state.activeTape };
  state.gradientDepth = 0;
  state.activeTape = null;
  try {
    return fn();
  } finally {
    state.gradientDepth = saved.gradientDepth;
    state.activeTape = saved.activeTape;
  }
}

/**
 * `x`'s values as a tensor with no tape history (tfjs has no stopGradient): a reshape to the same shape,
 * which shares x's buffer (no copy), run off the tape, so no gradient ever flows back through it.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return withoutTape(() => tf.reshape(x, x.shape) as T);
}
