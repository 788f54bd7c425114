import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { matMul2d } from '../harness/engine/ops.js';
import { forward, type Params } from '../harness/language/model/gpt.js';
import { maskedNll } from '../harness/language/model/loss.js';
import { Rng } from '../harness/engine/rng.js';
import { tinyModel, useWasm } from './helpers.js';

describe('gradients of the learner (checked against finite differences)', () => {
  before(useWasm);

  it('matMul2d has the gradient of a plain matMul', () => {
    const rng = new Rng(3);
    const a = tf.tensor2d(rng.normals(12, 1), [3, 4]);
    const b = tf.tensor2d(rng.normals(20, 1), [4, 5]);
    const w = tf.tensor2d(rng.normals(15, 1), [3, 5]);
    const mine = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(matMul2d(x as tf.Tensor2D, y as tf.Tensor2D), w)))([a, b]);
    const ref = tf.grads((x: tf.Tensor, y: tf.Tensor) => tf.sum(tf.mul(tf.matMul(x as tf.Tensor2D, y as tf.Tensor2D), w)))([a, b]);
    for (let i = 0; i < 2; i++) {
      const d = tf.max(tf.abs(tf.sub(mine[i]!, ref[i]!))).dataSync()[0]!;
      expect(d).to.be.lessThan(1e-5);
    }
  });

  it('GPT loss gradient matches central differences along random directions', () => {
    const model = tinyModel(5);
    const ids = tf.tensor2d([[1, 5, 9, 30, 4, 7, 2, 8], [3, 3, 60, 2, 1, 0, 9, 11]], [2, 8], 'int32');
    const targets = tf.tensor1d([5, 9, 30, 4, 7, 2, 8, 1, 3, 60, 2, 1, 0, 9, 11, 4], 'int32');
    const mask = tf.ones([16]) as tf.Tensor1D;
    const names = Object.keys(model.vars);
    const loss = (p: Params): tf.Scalar => maskedNll(forward(model.cfg, p, ids), targets, mask);
    const grads = tf.grads((...xs: tf.Tensor[]) => loss(Object.fromEntries(names.map((n, i) => [n, xs[i]!]))))(names.map((n) => model.vars[n]!));
    const rng = new Rng(11);
    for (let trial = 0; trial < 3; trial++) {
      const raw = names.map((n) => tf.tensor(rng.normals(model.vars[n]!.size, 1), model.vars[n]!.shape));
      const norm = Math.sqrt(raw.reduce((a, t) => a + tf.sum(tf.square(t)).dataSync()[0]!, 0));
      const dir = raw.map((t) => tf.div(t, norm));
      const analytic = tf.addN(grads.map((g, i) => tf.sum(tf.mul(g, dir[i]!)))).dataSync()[0]!;
      const eps = 1e-2;
      const at = (s: number): number =>
        loss(Object.fromEntries(names.map((n, i) => [n, tf.add(model.vars[n]!, tf.mul(dir[i]!, s * eps))]))).dataSync()[0]!;
      const numeric = (at(1) - at(-1)) / (2 * eps);
      expect(Math.abs(analytic - numeric)).to.be.lessThan(1e-2 * Math.max(0.1, Math.abs(numeric)));
    }
    model.dispose();
  });
});
