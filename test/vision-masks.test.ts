/**
 * The masks' arithmetic: the U-Net's im2col convolution against tf.conv2d, masked views at the extremes,
 * total variation, keep-ratio penalty and entropy on hand-worked masks, host and device statistics agreeing,
 * and random masks with an exact keep ratio whose matcher reaches a designer's statistics.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import {
  hostMaskStats, keepPenalty, maskedViews, maskEntropy, maskStats, matchRandomMasks, randomMasks, totalVariation,
} from '../harness/vision/designer/masks.js';
import { conv3x3, MaskDesigner } from '../harness/vision/designer/unet.js';
import { arraysEqual, useWasm } from './helpers.js';

const scalar = (t: tf.Tensor): number => t.dataSync()[0]!;

describe('vision masks', () => {
  before(useWasm);

  it('the im2col 3×3 convolution equals tf.conv2d with same padding', () => {
    const rng = new Rng(1);
    const x = tf.tensor4d(rng.normals(2 * 6 * 6 * 3, 1), [2, 6, 6, 3]);
    const w = tf.tensor2d(rng.normals(27 * 5, 1), [27, 5]);
    const b = tf.tensor1d(rng.normals(5, 1));
    const ref = tf.add(tf.conv2d(x, w.reshape([3, 3, 3, 5]) as tf.Tensor4D, 1, 'same'), b);
    expect(scalar(tf.max(tf.abs(tf.sub(conv3x3(x, w, b), ref))))).to.be.lessThan(1e-5);
  });

  it('the designer outputs one soft mask per image in (0, 1), starting near a uniform half blur', () => {
    const d = new MaskDesigner({ width: 4, levels: 3, channels: 3 }, new Rng(2));
    const mu = d.masks(tf.tensor4d(new Rng(3).normals(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]));
    expect(mu.shape).to.deep.equal([2, 8, 8, 1]);
    const v = mu.dataSync() as Float32Array;
    expect(v.every((x) => x > 0 && x < 1)).to.equal(true);
    expect(Math.abs(v.reduce((a, x) => a + x, 0) / v.length - 0.5)).to.be.lessThan(0.05);
    d.dispose();
  });

  it('keep centring: the masks start at the target keep ratio and a uniform shift of the logits leaves them unchanged', () => {
    const images = tf.tensor4d(new Rng(3).normals(2 * 8 * 8 * 3, 1), [2, 8, 8, 3]);
    const d = new MaskDesigner({ width: 4, levels: 2, channels: 3, scale: 2, centre: 0.3 }, new Rng(2));
    const before = d.masks(images).dataSync() as Float32Array;
    for (const k of [0, 1]) expect(before.subarray(k * 64, (k + 1) * 64).reduce((a, x) => a + x, 0) / 64).to.be.closeTo(0.3, 0.01);
    // The output bias moves every logit by the same amount: without centring that is the whole keep ratio.
    d.vars['out.b']!.assign(tf.add(d.vars['out.b']!, 3));
    const after = d.masks(images).dataSync() as Float32Array;
    expect(Math.max(...after.map((x, i) => Math.abs(x - before[i]!)))).to.be.lessThan(1e-5);
    const free = new MaskDesigner({ width: 4, levels: 2, channels: 3, scale: 2 }, new Rng(2));
    free.vars['out.b']!.assign(tf.add(free.vars['out.b']!, 3));
    expect(scalar(tf.mean(free.masks(images)))).to.be.greaterThan(0.9);
    d.dispose();
    free.dispose();
  });

  it('masked views: strength 0 is the image bit for bit, μ = 1 keeps it, μ = 0 is the blur', () => {
    const rng = new Rng(4);
    const v = tf.tensor4d(rng.normals(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const blurred = tf.tensor4d(rng.normals(2 * 4 * 4 * 3, 1), [2, 4, 4, 3]);
    const mu = tf.tensor4d(Array.from({ length: 32 }, (_, i) => (i % 7) / 7), [2, 4, 4, 1]);
    expect(arraysEqual(maskedViews(v, blurred, mu, 0).dataSync(), v.dataSync())).to.equal(true);
    expect(arraysEqual(maskedViews(v, blurred, tf.onesLike(mu) as tf.Tensor4D, 1).dataSync(), v.dataSync())).to.equal(true);
    expect(arraysEqual(maskedViews(v, blurred, tf.zerosLike(mu) as tf.Tensor4D, 1).dataSync(), blurred.dataSync())).to.equal(true);
    // Half strength: m = 1 − (1 − μ)/2.
    const half = maskedViews(v, blurred, tf.zerosLike(mu) as tf.Tensor4D, 0.5);
    expect(scalar(tf.max(tf.abs(tf.sub(half, tf.mul(tf.add(v, blurred), 0.5)))))).to.be.lessThan(1e-6);
  });

  it('total variation, keep penalty and entropy on hand-worked masks', () => {
    // [[0,1,1],[0,1,1],[0,0,0]]: horizontal |Δ| sums to 2, vertical to 2, over 12 neighbouring pairs.
    const m = tf.tensor4d([0, 1, 1, 0, 1, 1, 0, 0, 0], [1, 3, 3, 1]);
    expect(scalar(totalVariation(m))).to.be.closeTo(4 / 12, 1e-6);
    const half = tf.fill([2, 4, 4, 1], 0.5) as tf.Tensor4D;
    const quarter = tf.fill([1, 4, 4, 1], 0.25) as tf.Tensor4D;
    expect(scalar(keepPenalty(half, 'sine', 0.3, 0))).to.be.closeTo(0.3, 1e-6);
    expect(scalar(keepPenalty(quarter, 'sine', 1, 0))).to.be.closeTo(Math.SQRT2, 1e-5);
    expect(scalar(keepPenalty(quarter, 'quadratic', 2, 0.75))).to.be.closeTo(2 * 0.25, 1e-6);
    expect(scalar(maskEntropy(half))).to.be.closeTo(Math.LN2, 1e-6);
    expect(scalar(maskEntropy(tf.tensor4d([0, 1, 1, 0], [1, 2, 2, 1])))).to.be.lessThan(1e-4);
  });

  it('host and device mask statistics agree', () => {
    const host = randomMasks(3, 10, { keep: 0.6, sigma: 1.5, sharpness: 3 }, new Rng(5));
    const dev = maskStats(tf.tensor4d(host, [3, 10, 10, 1])).dataSync();
    const h = hostMaskStats(host, 3, 10);
    expect(dev[0]).to.be.closeTo(h.keep, 1e-5);
    expect(dev[1]).to.be.closeTo(h.entropy, 1e-4);
    expect(dev[2]).to.be.closeTo(h.tv, 1e-5);
  });

  it('random masks hit their keep ratio per mask, smoother with larger σ; the matcher reaches given statistics', () => {
    const S = 16;
    const rng = new Rng(6);
    const smooth = randomMasks(8, S, { keep: 0.3, sigma: 4, sharpness: 4 }, rng);
    const rough = randomMasks(8, S, { keep: 0.3, sigma: 1, sharpness: 4 }, rng);
    for (let i = 0; i < 8; i++) {
      const mean = smooth.subarray(i * S * S, (i + 1) * S * S).reduce((a, x) => a + x, 0) / (S * S);
      expect(mean).to.be.closeTo(0.3, 1e-3);
    }
    expect(hostMaskStats(smooth, 8, S).tv).to.be.lessThan(hostMaskStats(rough, 8, S).tv);
    // The setting behind known statistics is recovered by the matcher (from its own noise sample).
    const target = hostMaskStats(randomMasks(64, S, { keep: 0.45, sigma: 2.5, sharpness: 6 }, new Rng(7)), 64, S);
    const p = matchRandomMasks(target, S, new Rng(8));
    expect(p.keep).to.be.closeTo(target.keep, 1e-9);
    expect(p.sigma).to.be.closeTo(2.5, 0.25);
    expect(p.sharpness).to.be.closeTo(6, 0.9);
    const got = hostMaskStats(randomMasks(64, S, p, new Rng(9)), 64, S);
    expect(got.keep).to.be.closeTo(target.keep, 0.01);
    expect(got.entropy).to.be.closeTo(target.entropy, 0.2 * target.entropy);
    expect(got.tv).to.be.closeTo(target.tv, 0.1 * target.tv);
  });
});
