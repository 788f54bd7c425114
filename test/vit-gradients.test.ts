import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { DinoModel } from '../harness/vision/model.js';
import { hiddenViews, studentLoss, studentLossFromHidden } from '../harness/vision/trainer.js';
import { teacherTargets } from '../harness/vision/dino.js';
import { DEFAULT_DINO } from '../harness/vision/dino.js';
import { clsTokens, patchify, vitCls, vitClsFrom, vitForwardFrom, vitHiddenBelow, vitTokens, type Params } from '../harness/vision/vit.js';
import { useWasm } from './helpers.js';

const tiny = { vit: { imageSize: 8, patchSize: 4, channels: 3, width: 8, depth: 2, heads: 2, mlpRatio: 2 }, head: { hidden: 8, bottleneck: 4, out: 6 } };

/** Directional derivative of f at params along a random unit direction: analytic vs central differences. */
function checkDirections(names: string[], params: Params, f: (p: Params) => tf.Scalar, seed: number, trials = 3): void {
  const grads = tf.grads((...xs: tf.Tensor[]) => f(Object.fromEntries(names.map((n, i) => [n, xs[i]!]))))(names.map((n) => params[n]!));
  const rng = new Rng(seed);
  for (let t = 0; t < trials; t++) {
    const raw = names.map((n) => tf.tensor(rng.normals(params[n]!.size, 1), params[n]!.shape));
    const norm = Math.sqrt(raw.reduce((a, x) => a + tf.sum(tf.square(x)).dataSync()[0]!, 0));
    const dir = raw.map((x) => tf.div(x, norm));
    const analytic = tf.addN(grads.map((g, i) => tf.sum(tf.mul(g, dir[i]!)))).dataSync()[0]!;
    const eps = 1e-3;
    const at = (s: number): number => f({ ...params, ...Object.fromEntries(names.map((n, i) => [n, tf.add(params[n]!, tf.mul(dir[i]!, s * eps))])) }).dataSync()[0]!;
    const numeric = (at(1) - at(-1)) / (2 * eps);
    expect(Math.abs(analytic - numeric), `direction ${t}: analytic ${analytic}, numeric ${numeric}`).to.be.lessThan(2e-2 * Math.max(0.05, Math.abs(numeric)));
  }
}

describe('ViT and DINO gradients (checked against finite differences)', () => {
  before(useWasm);

  it('patchify lays patches out row-major with (row, column, channel) inside each patch', () => {
    const x = tf.range(0, 4 * 4 * 2).reshape([1, 4, 4, 2]) as tf.Tensor4D;
    const p = patchify(x, 2).arraySync();
    // Patch (0,1) holds pixels (0,2),(0,3),(1,2),(1,3), two channels each.
    expect(p[1]).to.deep.equal([4, 5, 6, 7, 12, 13, 14, 15]);
  });

  it('the DINO student loss has the gradient of finite differences through backbone, local crops and head', () => {
    const rng = new Rng(2);
    const model = DinoModel.init(tiny, rng);
    const B = 2;
    const global = tf.tensor4d(rng.normals(2 * B * 8 * 8 * 3, 1), [2 * B, 8, 8, 3]);
    const local = tf.tensor4d(rng.normals(2 * B * 4 * 4 * 3, 1), [2 * B, 4, 4, 3]);
    const targets = teacherTargets(tf.tensor2d(rng.normals(2 * B * 6, 1), [2 * B, 6]), tf.zeros([6]) as tf.Tensor1D, 0.5);
    const names = Object.keys(model.student);
    checkDirections(names, model.student, (p) => studentLoss(model, p, global, local, targets, B, { ...DEFAULT_DINO, studentTemp: 0.5 }), 7);
    model.dispose();
  });

  it('running from the activations below S equals the full forward, and its gradient over S is right', () => {
    const rng = new Rng(3);
    const model = DinoModel.init(tiny, rng);
    const x = tf.tensor4d(rng.normals(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
    const p = model.student;
    const full = vitTokens(tiny.vit, p, x).tokens;
    const { x: hidden, B, T } = vitHiddenBelow(tiny.vit, p, x, 1);
    const split = vitForwardFrom(tiny.vit, p, hidden, B, T, 1);
    expect(tf.max(tf.abs(tf.sub(full, split))).dataSync()[0]).to.be.lessThan(1e-5);
    const w = tf.tensor2d(rng.normals(full.size, 1), full.shape);
    const names = Object.keys(p).filter((n) => n.startsWith('blk.1.') || n.startsWith('norm.'));
    checkDirections(names, p, (q) => tf.sum(tf.mul(vitForwardFrom(tiny.vit, q, hidden, B, T, 1), w)) as tf.Scalar, 9);
    model.dispose();
  });

  it('the DINO loss from activations below S equals the full loss (the seam the value estimator needs)', () => {
    const rng = new Rng(5);
    const model = DinoModel.init(tiny, rng);
    const B = 2;
    const global = tf.tensor4d(rng.normals(2 * B * 8 * 8 * 3, 1), [2 * B, 8, 8, 3]);
    const local = tf.tensor4d(rng.normals(2 * B * 4 * 4 * 3, 1), [2 * B, 4, 4, 3]);
    const targets = teacherTargets(tf.tensor2d(rng.normals(2 * B * 6, 1), [2 * B, 6]), tf.zeros([6]) as tf.Tensor1D, 0.5);
    const full = studentLoss(model, model.student, global, local, targets, B, DEFAULT_DINO).dataSync()[0]!;
    const split = studentLossFromHidden(model, model.student, hiddenViews(model, model.student, global, 1), hiddenViews(model, model.student, local, 1), 1, targets, B, DEFAULT_DINO).dataSync()[0]!;
    expect(split).to.be.closeTo(full, 1e-5 * Math.abs(full));
    model.dispose();
  });

  it('the CLS-only last block gives the CLS features of the full forward, from the input or from below S', () => {
    const rng = new Rng(6);
    const model = DinoModel.init(tiny, rng);
    const x = tf.tensor4d(rng.normals(3 * 8 * 8 * 3, 1), [3, 8, 8, 3]);
    const { tokens, B, T } = vitTokens(tiny.vit, model.student, x);
    const ref = clsTokens(tokens, B, T);
    expect(tf.max(tf.abs(tf.sub(vitCls(tiny.vit, model.student, x), ref))).dataSync()[0]).to.be.lessThan(1e-5);
    for (const from of [0, 1, 2]) {
      const h = vitHiddenBelow(tiny.vit, model.student, x, from);
      expect(tf.max(tf.abs(tf.sub(vitClsFrom(tiny.vit, model.student, h.x, h.B, h.T, from), ref))).dataSync()[0]).to.be.lessThan(1e-5);
    }
    model.dispose();
  });
});
