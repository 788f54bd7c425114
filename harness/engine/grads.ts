/** Gradient dictionaries (parameter name → tensor), as both tasks' value estimators use them. */
import * as tf from '@tensorflow/tfjs';
import { addMany, globalNorm } from './ops.js';
import type { Rng } from './rng.js';

export type Grads = Record<string, tf.Tensor>;

/** A Gaussian direction with the same global norm as `g` (the random-feedback control's g_down), drawn from `rng`. */
export function randomLike(g: Grads, rng: Rng): Grads {
  const out: Grads = {};
  for (const [k, t] of Object.entries(g)) out[k] = tf.tensor(rng.normals(t.size, 1), t.shape);
  return tf.tidy(() => {
    const scale = tf.div(globalNorm(Object.values(g)), globalNorm(Object.values(out)));
    const scaled: Grads = {};
    for (const [k, t] of Object.entries(out)) scaled[k] = tf.mul(t, scale);
    tf.dispose(Object.values(out));
    return scaled;
  });
}

export function dot(a: Grads, b: Grads): tf.Scalar {
  return addMany(Object.keys(a).map((k) => tf.sum(tf.mul(a[k] as tf.Tensor, b[k] as tf.Tensor)))) as tf.Scalar;
}

