/**
 * Soft masks on global views: applying them (view = μ⊙v + (1−μ)⊙Blur(v), the blur a constant computed
 * outside any tape), the designer's regularisers (keep-ratio penalty, total variation), their statistics
 * (keep ratio, binary entropy, TV), and the random-masks control's smooth random masks, drawn on the host
 * from the seeded Rng with a keep ratio, smoothness and softness that can be matched to a designer's.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianTaps } from '../augment.js';
import type { Rng } from '../../engine/rng.js';

/**
 * Masked views m⊙v + (1−m)⊙blurred with m = 1 − strength·(1 − μ); μ [N,S,S,1] broadcasts over channels.
 * With strength 0, m is exactly 1 and the result is v bit for bit.
 */
export function maskedViews(v: tf.Tensor4D, blurred: tf.Tensor4D, mu: tf.Tensor4D, strength: number): tf.Tensor4D {
  const m = strength === 1 ? mu : tf.sub(1, tf.mul(strength, tf.sub(1, mu)));
  return tf.add(tf.mul(m, v), tf.mul(tf.sub(1, m), blurred));
}

/** Mean μ of each mask [N] from masks [N,S,S,1]. */
export function keepRatios(mu: tf.Tensor4D): tf.Tensor1D {
  return tf.mean(mu.reshape([mu.shape[0], -1]), 1) as tf.Tensor1D;
}

/** Keep-ratio penalty, averaged over masks: 'sine' w/sin(π·m_i) (ADIOS), 'quadratic' w·(m_i − target)². */
export function keepPenalty(mu: tf.Tensor4D, kind: 'sine' | 'quadratic', weight: number, target: number): tf.Scalar {
  const m = keepRatios(mu);
  const per = kind === 'sine' ? tf.div(1, tf.sin(tf.mul(m, Math.PI))) : tf.square(tf.sub(m, target));
  return tf.mul(tf.mean(per), weight) as tf.Scalar;
}

/** Total variation: mean |Δμ| over horizontally and vertically neighbouring pixel pairs. */
export function totalVariation(mu: tf.Tensor4D): tf.Scalar {
  const [N, S, W] = mu.shape;
  const dy = tf.sub(tf.slice(mu, [0, 1, 0, 0], [N, S - 1, W, 1]), tf.slice(mu, [0, 0, 0, 0], [N, S - 1, W, 1]));
  const dx = tf.sub(tf.slice(mu, [0, 0, 1, 0], [N, S, W - 1, 1]), tf.slice(mu, [0, 0, 0, 0], [N, S, W - 1, 1]));
  const pairs = N * ((S - 1) * W + S * (W - 1));
  return tf.div(tf.add(tf.sum(tf.abs(dy)), tf.sum(tf.abs(dx))), pairs) as tf.Scalar;
}

/** Mean binary entropy (nats) of the mask values: ln 2 for μ = 0.5 everywhere, 0 for hard 0/1 masks. */
export function maskEntropy(mu: tf.Tensor4D): tf.Scalar {
  const p = tf.clipByValue(mu, 1e-6, 1 - 1e-6);
  const q = tf.sub(1, p);
  return tf.neg(tf.mean(tf.add(tf.mul(p, tf.log(p)), tf.mul(q, tf.log(q))))) as tf.Scalar;
}

/** [keep ratio, entropy, TV] of a batch of masks, as one [3] tensor (read at log points). */
export function maskStats(mu: tf.Tensor4D): tf.Tensor1D {
  return tf.stack([tf.mean(mu), maskEntropy(mu), totalVariation(mu)]) as tf.Tensor1D;
}

/** Same statistics of host masks (n masks of S×S), for the random-mask matcher. */
export function hostMaskStats(masks: Float32Array, n: number, S: number): { keep: number; entropy: number; tv: number } {
  let keep = 0;
  let ent = 0;
  let tv = 0;
  for (let i = 0; i < masks.length; i++) {
    const v = masks[i] as number;
    keep += v;
    const p = Math.min(1 - 1e-6, Math.max(1e-6, v));
    ent -= p * Math.log(p) + (1 - p) * Math.log(1 - p);
  }
  for (let k = 0; k < n; k++) {
    const o = k * S * S;
    for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
      const v = masks[o + y * S + x] as number;
      if (x + 1 < S) tv += Math.abs((masks[o + y * S + x + 1] as number) - v);
      if (y + 1 < S) tv += Math.abs((masks[o + (y + 1) * S + x] as number) - v);
    }
  }
  return { keep: keep / masks.length, entropy: ent / masks.length, tv: tv / (n * 2 * S * (S - 1)) };
}

/** How random masks are drawn: target mean, smoothness of the noise (σ, pixels) and sigmoid sharpness. */
export interface RandomMaskParams {
  keep: number;
  sigma: number;
  sharpness: number;
}

/** Reflected index tables (one per side and radius): index k of the padded axis → source index. */
const reflectTables = new Map<string, Int32Array>();
function reflectTable(S: number, r: number): Int32Array {
  const key = `${S}:${r}`;
  let t = reflectTables.get(key);
  if (!t) {
    t = new Int32Array(S + 2 * r);
    for (let i = -r; i < S + r; i++) {
      let k = i;
      while (k < 0 || k >= S) k = k < 0 ? -k : 2 * (S - 1) - k;
      t[i + r] = S === 1 ? 0 : k;
    }
    reflectTables.set(key, t);
  }
  return t;
}

/** Separable Gaussian blur of one S×S single-channel field with reflected borders. */
function blurField(f: Float32Array, S: number, sigma: number): Float32Array {
  const taps = gaussianTaps(sigma);
  const r = (taps.length - 1) / 2;
  const idx = reflectTable(S, r);
  const tmp = new Float32Array(S * S);
  const out = new Float32Array(S * S);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    let a = 0;
    for (let k = 0; k < taps.length; k++) a += (taps[k] as number) * (f[y * S + (idx[x + k] as number)] as number);
    tmp[y * S + x] = a;
  }
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) {
    let a = 0;
    for (let k = 0; k < taps.length; k++) a += (taps[k] as number) * (tmp[(idx[y + k] as number) * S + x] as number);
    out[y * S + x] = a;
  }
  return out;
}

const sigmoid = (x: number): number => 1 / (1 + Math.exp(-x));

/**
 * One mask from a standardised noise field z: μ = sigmoid(k·(z − t)), the threshold t found by bisection so
 * the mask's mean is `keep` (to 1e-4).
 */
function maskFromField(z: Float32Array, keep: number, k: number, out: Float32Array, offset: number): void {
  let lo = -20;
  let hi = 20;
  for (let it = 0; it < 40; it++) {
    const t = (lo + hi) / 2;
    let m = 0;
    for (let i = 0; i < z.length; i++) m += sigmoid(k * ((z[i] as number) - t));
    m /= z.length;
    if (Math.abs(m - keep) < 1e-4) break;
    if (m > keep) lo = t;
    else hi = t;
  }
  const t = (lo + hi) / 2;
  for (let i = 0; i < z.length; i++) out[offset + i] = sigmoid(k * ((z[i] as number) - t));
}

/** A standardised smooth noise field (zero mean, unit sd) of side S. */
function smoothField(S: number, sigma: number, noise: Float32Array): Float32Array {
  const f = blurField(noise, S, sigma);
  let mean = 0;
  for (const v of f) mean += v;
  mean /= f.length;
  let sq = 0;
  for (const v of f) sq += (v - mean) ** 2;
  const sd = Math.sqrt(sq / f.length) || 1;
  for (let i = 0; i < f.length; i++) f[i] = ((f[i] as number) - mean) / sd;
  return f;
}

/** n random masks [n, S, S] (host, in [0, 1]) drawn from `rng`. */
export function randomMasks(n: number, S: number, p: RandomMaskParams, rng: Rng): Float32Array {
  const out = new Float32Array(n * S * S);
  for (let i = 0; i < n; i++) maskFromField(smoothField(S, p.sigma, rng.normals(S * S, 1)), p.keep, p.sharpness, out, i * S * S);
  return out;
}

/**
 * Random-mask parameters whose masks have (about) the given keep ratio, entropy and total variation: keep is
 * exact per mask; sharpness is set for the entropy and σ for the TV by bisection on a fixed noise sample
 * (entropy hardly depends on σ once the field is standardised, TV falls with σ and rises with sharpness).
 * Targets out of reach end at the nearest bound (σ ≤ S/2, sharpness in [0.05, 200]).
 */
export function matchRandomMasks(target: { keep: number; entropy: number; tv: number }, S: number, rng: Rng, samples = 24): RandomMaskParams {
  const keep = Math.min(0.99, Math.max(0.01, target.keep));
  const noise = Array.from({ length: samples }, () => rng.normals(S * S, 1));
  const stats = (sigma: number, sharpness: number): { entropy: number; tv: number } => {
    const out = new Float32Array(samples * S * S);
    noise.forEach((nz, i) => maskFromField(smoothField(S, sigma, nz), keep, sharpness, out, i * S * S));
    return hostMaskStats(out, samples, S);
  };
  // Log-scale bisection of a monotone function f on [lo, hi] toward `want`.
  const bisect = (lo: number, hi: number, f: (x: number) => number, want: number, increasing: boolean): number => {
    let a = Math.log(lo);
    let b = Math.log(hi);
    for (let it = 0; it < 18; it++) {
      const mid = (a + b) / 2;
      const above = f(Math.exp(mid)) > want;
      if (above === increasing) b = mid;
      else a = mid;
    }
    return Math.exp((a + b) / 2);
  };
  let sigma = Math.max(1, S / 10);
  let sharpness = 4;
  for (let round = 0; round < 2; round++) {
    sharpness = bisect(0.05, 200, (k) => stats(sigma, k).entropy, target.entropy, false);
    sigma = bisect(0.3, S / 2, (s) => stats(s, sharpness).tv, target.tv, false);
  }
  return { keep, sigma, sharpness };
}
