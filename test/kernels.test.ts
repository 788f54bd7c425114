/**
 * vpt's wasm kernels against stock tfjs ops (an independent implementation): values and gradients of every
 * op that switches to them, on shapes with ragged tails (sizes not multiples of 4), batched and transposed
 * matMuls, causal attention, and a full AdamW step (bitwise, with clipping off).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import {
  batchMatMul, candidateScores, causalAttention, embed, gelu, layerNorm, linear, matMul2d, pickColumns, rowLogSumExp, scatterColumns, softmax, topKExcluding,
} from '../harness/engine/ops.js';
import { fastKernels, setFastKernels } from '../harness/engine/wasm/runtime.js';
import { kernelModuleBytes } from '../harness/engine/wasm/kernels.js';
import { Rng } from '../harness/engine/rng.js';
import { softCrossEntropy } from '../harness/language/model/loss.js';
import { AdamW } from '../harness/optim/adamw.js';
import { arraysEqual, useWasm } from './helpers.js';

const rng = new Rng(77);
const randn = (shape: number[], std = 1): tf.Tensor => tf.tensor(rng.normals(shape.reduce((a, b) => a * b, 1), std), shape);

/** Value and gradients (w.r.t. the float inputs) of `f`, with vpt's kernels on or off. */
function run(fast: boolean, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], upstream: tf.Tensor): { value: Float32Array; grads: Float32Array[] } {
  const was = setFastKernels(fast);
  try {
    const { value, grads } = tf.valueAndGrads((...a: tf.Tensor[]) => tf.sum(tf.mul(f(...a), upstream)))(xs);
    const y = f(...xs);
    value.dispose();
    return { value: y.dataSync() as Float32Array, grads: grads.map((g) => g.dataSync() as Float32Array) };
  } finally {
    setFastKernels(was);
  }
}

function close(a: Float32Array, b: Float32Array, tol: number, label: string): void {
  expect(a.length, label).to.equal(b.length);
  let worst = 0;
  let scale = 1e-6;
  for (let i = 0; i < a.length; i++) {
    worst = Math.max(worst, Math.abs((a[i] as number) - (b[i] as number)));
    scale = Math.max(scale, Math.abs(b[i] as number));
  }
  expect(worst / scale, `${label}: max |diff| ${worst} at scale ${scale}`).to.be.lessThan(tol);
}

/** The op with kernels equals the stock op in value and in every gradient. */
function agree(label: string, f: (...xs: tf.Tensor[]) => tf.Tensor, xs: tf.Tensor[], tol = 1e-5): void {
  const outShape = tf.tidy(() => f(...xs).shape);
  const up = randn(outShape);
  const fast = run(true, f, xs, up);
  const stock = run(false, f, xs, up);
  close(fast.value, stock.value, tol, `${label} value`);
  fast.grads.forEach((g, i) => close(g, stock.grads[i]!, tol, `${label} gradient ${i}`));
}

describe('wasm kernels agree with stock tfjs ops (values and gradients)', () => {
  before(async () => {
    await useWasm();
    expect(fastKernels()).to.equal(true);
  });

  it('assemble into a module that validates', () => {
    expect(WebAssembly.validate(kernelModuleBytes())).to.equal(true);
  });

  it('matMul2d and linear, including sizes off multiples of 4', () => {
    for (const [M, K, N] of [[7, 5, 9], [33, 16, 12], [2, 70, 3], [64, 128, 96]] as const) {
      agree(`matMul2d ${M}x${K}x${N}`, (a, b) => matMul2d(a as tf.Tensor2D, b as tf.Tensor2D), [randn([M, K]), randn([K, N])]);
      agree(`linear ${M}x${K}x${N}`, (a, b, c) => linear(a as tf.Tensor2D, b as tf.Tensor2D, c as tf.Tensor1D), [randn([M, K]), randn([K, N]), randn([N])]);
    }
  });

  it('batched matMul (attention shapes) and causal attention', () => {
    agree('batchMatMul', (a, b) => batchMatMul(a!, b!), [randn([2, 3, 10, 6]), randn([2, 3, 6, 7])]);
    for (const [B, H, T, dh] of [[2, 2, 9, 4], [1, 3, 16, 8], [2, 1, 5, 3]] as const) {
      agree(`causalAttention ${B}x${H}x${T}x${dh}`, (q, kT, v) => causalAttention(q as tf.Tensor4D, kT as tf.Tensor4D, v as tf.Tensor4D),
        [randn([B, H, T, dh]), randn([B, H, dh, T]), randn([B, H, T, dh])]);
    }
  });

  it('softmax, LayerNorm and GELU', () => {
    agree('softmax', (x) => softmax(x!), [randn([3, 5, 11], 3)]);
    agree('layerNorm', (x, g, b) => layerNorm(x as tf.Tensor2D, g as tf.Tensor1D, b as tf.Tensor1D), [randn([13, 12], 2), randn([12]), randn([12])]);
    // Φ from a 1.5e-7-accurate erf: agreement at the float32 level of the stock erf.
    agree('gelu', (x) => gelu(x!), [randn([7, 19], 3)], 2e-6);
  });

  it('soft cross-entropy (the logits gradient), log-sum-exp, embedding, candidate pick and scatter', () => {
    const N = 10;
    const V = 23;
    const q = tf.softmax(randn([N, V], 2)) as tf.Tensor2D;
    const mask = tf.tensor1d([1, 0, 1, 1, 1, 0, 0, 1, 1, 1]);
    agree('softCrossEntropy', (x) => softCrossEntropy(x as tf.Tensor2D, q, mask), [randn([N, V], 3)]);
    const x = randn([N, V], 5) as tf.Tensor2D;
    const lse = (fast: boolean): Float32Array => {
      const was = setFastKernels(fast);
      const out = rowLogSumExp(x).dataSync() as Float32Array;
      setFastKernels(was);
      return out;
    };
    close(lse(true), lse(false), 1e-6, 'rowLogSumExp');
    const ids = tf.tensor1d([3, 0, 22, 3, 7, 7, 1], 'int32');
    agree('embed', (t) => embed(ids, t as tf.Tensor2D), [randn([V, 6])]);
    const cand = tf.tensor2d([[1, 4, 9], [0, 2, 22], [5, 6, 7]], [3, 3], 'int32');
    agree('pickColumns', (t) => pickColumns(t as tf.Tensor2D, cand), [randn([3, V])]);
    agree('scatterColumns', (w) => scatterColumns(cand, w as tf.Tensor2D, V), [randn([3, 3])]);
    agree('candidateScores', (u, t) => candidateScores(u as tf.Tensor2D, t as tf.Tensor2D, cand), [randn([3, 5]), randn([V, 5])]);
  });

  it('top-k excluding a column: the same sets, order and values as tf.topk with that column pushed down', () => {
    // Integer-valued logits make ties common: both sides order ties by the lower column.
    const x = tf.tensor2d(Array.from({ length: 6 * 37 }, (_, i) => ((i * 7919) % 13) - 6), [6, 37]);
    const ex = tf.tensor1d([0, 5, 36, 12, 12, 3], 'int32');
    for (const k of [1, 4, 9, 36]) {
      const mine = topKExcluding(x, ex, k);
      const ref = tf.topk(tf.sub(x, tf.mul(tf.oneHot(ex, 37).toFloat(), 1e9)), k);
      expect(mine.indices.arraySync(), `k=${k}`).to.deep.equal(ref.indices.arraySync());
      expect(mine.values.arraySync(), `k=${k}`).to.deep.equal(ref.values.arraySync());
    }
    expect(() => topKExcluding(x, ex, 37)).to.throw(/needs at least 38 columns/);
  });

  it('the fused AdamW step is bitwise the tensor-op step (no clipping), and close with clipping', () => {
    const cfg = { lr: 0.01, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.1, gradClip: 0, warmupSteps: 1, totalSteps: 5, minLrRatio: 0.1 };
    for (const gradClip of [0, 0.5]) {
      const trained = (fast: boolean): Float32Array[] => {
        const was = setFastKernels(fast);
        const r = new Rng(5);
        const vars = { w: tf.variable(tf.tensor(r.normals(35, 1), [5, 7])), b: tf.variable(tf.tensor(r.normals(7, 1), [7])) };
        const opt = new AdamW({ ...cfg, gradClip }, vars);
        for (let s = 0; s < 3; s++) opt.apply({ w: tf.tensor(r.normals(35, 2), [5, 7]), b: tf.tensor(r.normals(7, 2), [7]) }).dispose();
        setFastKernels(was);
        return [vars.w.dataSync() as Float32Array, vars.b.dataSync() as Float32Array];
      };
      const [fw, fb] = trained(true);
      const [sw, sb] = trained(false);
      if (gradClip === 0) expect(arraysEqual(fw!, sw!) && arraysEqual(fb!, sb!)).to.equal(true);
      else {
        close(fw!, sw!, 1e-6, 'AdamW w (clipped)');
        close(fb!, sb!, 1e-6, 'AdamW b (clipped)');
      }
    }
  });
});
