/**
 * DINO's projection head: a 3-layer GELU MLP to a bottleneck, L2 normalisation, then a weight-normalised linear
 * layer without bias (each output unit's weight vector has unit norm; DINO fixes the gain at 1).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/rng.js';
import { gelu, linear, matMul2d } from '../engine/ops.js';
import type { HostArrays, Params } from './vit.js';

/** Shape of the projection head. */
export interface HeadConfig {
  /** MLP hidden width. Default 256 (DINO: 2048). */
  hidden: number;
  /** Bottleneck width before the last layer. Default 64 (DINO: 256). */
  bottleneck: number;
  /** Output dimension K (prototypes). Default 1024 (DINO: 65536). */
  out: number;
}

export function headParameterShapes(inDim: number, h: HeadConfig): Record<string, number[]> {
  return {
    'head.w1': [inDim, h.hidden], 'head.b1': [h.hidden],
    'head.w2': [h.hidden, h.hidden], 'head.b2': [h.hidden],
    'head.w3': [h.hidden, h.bottleneck], 'head.b3': [h.bottleneck],
    'head.v': [h.bottleneck, h.out],
  };
}

/**
 * MLP weights N(0, 1/fan_in), zero biases; the last layer's directions N(0, 1/bottleneck) (their scale is
 * normalised away). Why not DINO's N(0, 0.02²): at DINO's widths (384 → 2048 → 2048 → 256) that gives a
 * bottleneck of norm ~1, but at ours (64 → 256 → 256 → 64) the bottleneck's norm is ~0.04, so after a few
 * steps its bias outgrows the input-dependent part and the L2-normalised output is the same for every image
 * (measured: the teacher's entropy rose to near log K and the loss to near log K within 60 steps).
 */
export function initHeadParams(inDim: number, h: HeadConfig, rng: Rng): HostArrays {
  const out: HostArrays = {};
  for (const [name, shape] of Object.entries(headParameterShapes(inDim, h))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const data = /\.b\d$/.test(name) ? new Float32Array(n) : rng.normals(n, 1 / Math.sqrt(shape[0] as number));
    out[name] = { shape, data };
  }
  return out;
}

function p(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`missing parameter '${name}'`);
  return t;
}

/** Rows scaled to unit L2 norm (F.normalize with eps 1e-12 on the norm). */
export function l2NormalizeRows(x: tf.Tensor2D): tf.Tensor2D {
  return tf.div(x, tf.maximum(tf.sqrt(tf.sum(tf.square(x), 1, true)), 1e-12));
}

/** Head logits [N, K] from backbone features [N, D]. */
export function headForward(params: Params, x: tf.Tensor2D): tf.Tensor2D {
  const g = (n: string): tf.Tensor => p(params, `head.${n}`);
  let h = gelu(linear(x, g('w1') as tf.Tensor2D, g('b1') as tf.Tensor1D)) as tf.Tensor2D;
  h = gelu(linear(h, g('w2') as tf.Tensor2D, g('b2') as tf.Tensor1D)) as tf.Tensor2D;
  const z = l2NormalizeRows(linear(h, g('w3') as tf.Tensor2D, g('b3') as tf.Tensor1D));
  const v = g('v') as tf.Tensor2D;
  // Weight norm with gain 1: column k (output unit k) divided by its norm.
  const w = tf.div(v, tf.sqrt(tf.sum(tf.square(v), 0, true))) as tf.Tensor2D;
  return matMul2d(z, w);
}
