import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { cropResize, DEFAULT_AUGMENT, gaussianBlur, makeCrops } from '../harness/vision/augment.js';
import { blurBatch } from '../harness/vision/views.js';
import { useWasm } from './helpers.js';

describe('multi-crop augmentation (host side, seeded)', () => {
  before(useWasm);
  const S = 16;
  const pool = { n: 3, size: S, data: new Rng(1).normals(3 * S * S * 3, 0.2).map((v) => Math.min(1, Math.max(0, 0.5 + v))) };

  it('the same Rng gives the same crops; another seed gives others', () => {
    const cfg = { ...DEFAULT_AUGMENT, globalSize: 16, localSize: 8, nLocal: 2 };
    const a = makeCrops(pool, [0, 2], cfg, new Rng(3));
    const b = makeCrops(pool, [0, 2], cfg, new Rng(3));
    const c = makeCrops(pool, [0, 2], cfg, new Rng(4));
    expect(Array.from(a.global)).to.deep.equal(Array.from(b.global));
    expect(Array.from(a.local)).to.deep.equal(Array.from(b.local));
    expect(Array.from(a.global)).to.not.deep.equal(Array.from(c.global));
    expect(a.global.length).to.equal(2 * 2 * 16 * 16 * 3);
    expect(a.local.length).to.equal(2 * 2 * 8 * 8 * 3);
  });

  it('a crop of the whole image at its own size is the image; a flip mirrors it', () => {
    const img = pool.data.subarray(0, S * S * 3);
    expect(Array.from(cropResize(img, S, 0, 0, S, S, S, false))).to.deep.equal(Array.from(img));
    const f = cropResize(img, S, 0, 0, S, S, S, true);
    expect(f[0]).to.equal(img[(S - 1) * 3]);
  });

  it('the device blur (for masked views) equals the host blur', () => {
    const img = pool.data.subarray(0, S * S * 3);
    const host = gaussianBlur(img, S, 0.8);
    const dev = blurBatch(tf.tensor4d(img, [1, S, S, 3]), 0.8).dataSync();
    let d = 0;
    for (let i = 0; i < host.length; i++) d = Math.max(d, Math.abs(host[i]! - dev[i]!));
    expect(d).to.be.lessThan(1e-5);
  });
});
