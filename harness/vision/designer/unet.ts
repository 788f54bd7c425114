/**
 * The vision task designer φ (METHOD.md §4): a small U-Net that reads a normalised global crop and outputs a
 * soft mask μ ∈ [0, 1]^{S×S} for it. Built only from ops whose gradients exist on wasm (../shared/ENGINE.md):
 * a 3×3 convolution is zero padding + 9 slices + concat + one 2-D matMul (wasm has no Conv2DBackpropFilter),
 * 2×2 average pooling down, nearest-neighbour resizing up, GELU, and a sigmoid at the end.
 */
import * as tf from '@tensorflow/tfjs';
import { gelu, linear } from '../../engine/ops.js';
import type { Rng } from '../../engine/rng.js';
import { upsampleBilinear } from '../probes/upsample.js';
import type { Params } from '../vit.js';

/** Shape of the mask U-Net. */
export interface UNetShape {
  /** Channels of the first level, doubled per level. Default 16. */
  width: number;
  /** Resolution levels (2 = one pooling step); the image side must be divisible by 2^(levels−1). Default 2. */
  levels: number;
  /** Input channels. Default 3. */
  channels: number;
  /**
   * The U-Net runs on the image average-pooled by this factor and its logits are resized bilinearly back to
   * full size (cost falls with its square; masks stay smooth at the pooled grid's scale). Default 1.
   */
  scale?: number;
  /**
   * Keep-ratio centring: when set (a keep ratio in (0, 1)), every mask's logits are shifted so that their mean
   * over pixels is logit(centre), so mean μ stays near `centre` (exactly at uniform logits, approximately while
   * their spread is moderate) and the designer learns where to hide, not how much. Undefined = no shift.
   */
  centre?: number;
}

/**
 * 3×3 convolution, stride 1, zero padding 1 (equals `tf.conv2d(x, w.reshape([3,3,Cin,Cout]), 1, 'same')`):
 * x [N,H,W,Cin], w [9·Cin, Cout] in (row, column, channel) order, bias [Cout].
 */
export function conv3x3(x: tf.Tensor4D, w: tf.Tensor2D, b: tf.Tensor1D): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const p = tf.pad(x, [[0, 0], [1, 1], [1, 1], [0, 0]]);
  const taps: tf.Tensor4D[] = [];
  for (let dy = 0; dy < 3; dy++) for (let dx = 0; dx < 3; dx++) taps.push(tf.slice(p, [0, dy, dx, 0], [N, H, W, C]));
  const cols = tf.concat(taps, 3).reshape([N * H * W, 9 * C]) as tf.Tensor2D;
  return linear(cols, w, b).reshape([N, H, W, w.shape[1]]) as tf.Tensor4D;
}

/** Parameter names and shapes: per level `enc.l.{a,b}` and (below the top) `dec.l.{a,b}`, then `out`. */
export function unetParameterShapes(s: UNetShape): Record<string, number[]> {
  const ch = (l: number): number => s.width * 2 ** l;
  const out: Record<string, number[]> = {};
  for (let l = 0; l < s.levels; l++) {
    const cin = l === 0 ? s.channels : ch(l - 1);
    Object.assign(out, { [`enc.${l}.a.w`]: [9 * cin, ch(l)], [`enc.${l}.a.b`]: [ch(l)], [`enc.${l}.b.w`]: [9 * ch(l), ch(l)], [`enc.${l}.b.b`]: [ch(l)] });
  }
  for (let l = s.levels - 2; l >= 0; l--) {
    const cin = ch(l + 1) + ch(l);
    Object.assign(out, { [`dec.${l}.a.w`]: [9 * cin, ch(l)], [`dec.${l}.a.b`]: [ch(l)], [`dec.${l}.b.w`]: [9 * ch(l), ch(l)], [`dec.${l}.b.b`]: [ch(l)] });
  }
  Object.assign(out, { 'out.w': [ch(0), 1], 'out.b': [1] });
  return out;
}

/**
 * He-normal convolutions, zero biases, and a small output layer (std 0.1/√width): the untrained designer's
 * masks are close to a uniform μ = 0.5 (a half blur everywhere), so any structure in them is learned.
 */
export function initUNet(s: UNetShape, rng: Rng): Record<string, { shape: number[]; data: Float32Array }> {
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  for (const [name, shape] of Object.entries(unetParameterShapes(s))) {
    const n = shape.reduce((a, b) => a * b, 1);
    const fanIn = shape[0] as number;
    let data: Float32Array;
    if (shape.length === 1) data = new Float32Array(n);
    else if (name === 'out.w') data = rng.normals(n, 0.1 / Math.sqrt(fanIn));
    else data = rng.normals(n, Math.sqrt(2 / fanIn));
    out[name] = { shape, data };
  }
  return out;
}

function p(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`missing designer parameter '${name}'`);
  return t;
}

function block(params: Params, prefix: string, x: tf.Tensor4D): tf.Tensor4D {
  const c = (k: string, t: tf.Tensor4D): tf.Tensor4D => gelu(conv3x3(t, p(params, `${prefix}.${k}.w`) as tf.Tensor2D, p(params, `${prefix}.${k}.b`) as tf.Tensor1D)) as tf.Tensor4D;
  return c('b', c('a', x));
}

/** Mask logits [N, S, S, 1] of images [N, S, S, C] (μ = sigmoid of these). */
export function unetLogits(s: UNetShape, params: Params, images: tf.Tensor4D): tf.Tensor4D {
  const [N, S] = images.shape;
  if (S % 2 ** (s.levels - 1) !== 0) throw new Error(`designer: image side ${S} is not divisible by 2^(levels−1) = ${2 ** (s.levels - 1)}`);
  const skips: tf.Tensor4D[] = [];
  let x = images;
  for (let l = 0; l < s.levels; l++) {
    if (l > 0) x = tf.avgPool(x, 2, 2, 'valid') as tf.Tensor4D;
    x = block(params, `enc.${l}`, x);
    skips.push(x);
  }
  for (let l = s.levels - 2; l >= 0; l--) {
    const skip = skips[l] as tf.Tensor4D;
    const up = tf.image.resizeNearestNeighbor(x, [skip.shape[1], skip.shape[2]]);
    x = block(params, `dec.${l}`, tf.concat([up, skip], 3));
  }
  const [, H, W, C] = x.shape;
  return linear(x.reshape([N * H * W, C]) as tf.Tensor2D, p(params, 'out.w') as tf.Tensor2D, p(params, 'out.b') as tf.Tensor1D).reshape([N, H, W, 1]) as tf.Tensor4D;
}

/** The designer: U-Net variables (float32) and the soft masks they produce. */
export class MaskDesigner {
  readonly vars: Record<string, tf.Variable> = {};

  constructor(readonly shape: UNetShape, rng: Rng) {
    const init = initUNet(shape, rng);
    // Inside tidy: tf.variable(t) does not release t.
    tf.tidy(() => {
      for (const [k, v] of Object.entries(init)) this.vars[k] = tf.variable(tf.tensor(v.data, v.shape));
    });
  }

  /** Soft masks μ [N, S, S, 1] of normalised images [N, S, S, C] under `params` (default the designer's own). */
  masks(images: tf.Tensor4D, params: Params = this.vars): tf.Tensor4D {
    const k = this.shape.scale ?? 1;
    if (k === 1) return tf.sigmoid(this.centred(unetLogits(this.shape, params, images)));
    const S = images.shape[1];
    if (S % k !== 0) throw new Error(`designer: image side ${S} is not divisible by its scale ${k}`);
    const small = unetLogits(this.shape, params, tf.avgPool(images, k, k, 'valid') as tf.Tensor4D);
    return tf.sigmoid(upsampleBilinear(this.centred(small), S));
  }

  /** Logits [N,H,W,1] shifted per mask to mean logit(centre) (see {@link UNetShape.centre}). */
  private centred(z: tf.Tensor4D): tf.Tensor4D {
    const c = this.shape.centre;
    if (c === undefined) return z;
    return tf.add(tf.sub(z, tf.mean(z, [1, 2, 3], true)), Math.log(c / (1 - c))) as tf.Tensor4D;
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
  }
}
