import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { bilinearMatrix, upsampleAdjoint, upsampleBilinear } from '../harness/vision/probes/upsample.js';
import { useWasm } from './helpers.js';

describe('bilinear logit upsampling (half-pixel centres)', () => {
  before(useWasm);

  it('matches the hand-worked 2 → 4 weights of align_corners=False', () => {
    expect(Array.from(bilinearMatrix(2, 4))).to.deep.equal([1, 0, 0.75, 0.25, 0.25, 0.75, 0, 1]);
  });

  it('equals tf.image.resizeBilinear(halfPixelCenters) in the forward pass', () => {
    const x = tf.tensor4d(new Rng(1).normals(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
    const d = tf.max(tf.abs(tf.sub(upsampleBilinear(x, 32), tf.image.resizeBilinear(x, [32, 32], false, true)))).dataSync()[0]!;
    expect(d).to.be.lessThan(1e-5);
  });

  it('has the gradient of finite differences (tfjs resizeBilinear gradient ignores halfPixelCenters)', () => {
    const rng = new Rng(2);
    const x = tf.tensor4d(rng.normals(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const w = tf.tensor4d(rng.normals(2 * 12 * 12 * 3, 1), [2, 12, 12, 3]);
    const dir = tf.tensor4d(rng.normals(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const f = (t: tf.Tensor): tf.Scalar => tf.sum(tf.mul(upsampleBilinear(t as tf.Tensor4D, 12), w));
    const analytic = tf.sum(tf.mul(tf.grad(f)(x), dir)).dataSync()[0]!;
    const eps = 1e-2;
    const numeric = (f(tf.add(x, tf.mul(dir, eps))).dataSync()[0]! - f(tf.sub(x, tf.mul(dir, eps))).dataSync()[0]!) / (2 * eps);
    expect(analytic).to.be.closeTo(numeric, 1e-3 * Math.max(1, Math.abs(numeric)));
  });

  it('has an adjoint: ⟨upsample(x), z⟩ = ⟨x, upsampleAdjoint(z)⟩', () => {
    const rng = new Rng(3);
    const x = tf.tensor4d(rng.normals(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const z = tf.tensor4d(rng.normals(2 * 12 * 12 * 3, 1), [2, 12, 12, 3]);
    const lhs = tf.sum(tf.mul(upsampleBilinear(x, 12), z)).dataSync()[0]!;
    const rhs = tf.sum(tf.mul(x, upsampleAdjoint(z, 4))).dataSync()[0]!;
    expect(upsampleAdjoint(z, 4).shape).to.deep.equal([2, 4, 4, 3]);
    expect(rhs).to.be.closeTo(lhs, 1e-4 * Math.max(1, Math.abs(lhs)));
  });
});
