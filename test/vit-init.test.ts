import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import { initVitParams, sincosPositions } from '../harness/vision/vit.js';

const cfg = { imageSize: 16, patchSize: 4, channels: 3, width: 16, depth: 2, heads: 2, mlpRatio: 2 };

describe('ViT initialisation', () => {
  it('the sin-cos position table has a zero CLS row, distinct grid rows and the requested rms', () => {
    const t = sincosPositions(4, 16, 0.5);
    expect(Array.from(t.subarray(0, 16)).every((v) => v === 0)).to.equal(true);
    const grid = t.subarray(16);
    const rms = Math.sqrt(grid.reduce((a, v) => a + v * v, 0) / grid.length);
    expect(rms).to.be.closeTo(0.5, 1e-6);
    const rows = new Set(Array.from({ length: 16 }, (_, i) => Array.from(grid.subarray(i * 16, (i + 1) * 16)).join(',')));
    expect(rows.size).to.equal(16);
  });

  it('draws block weights at 0.02·√(384/D), keeps biases zero and gains one, and is seeded', () => {
    const a = initVitParams(cfg, new Rng(1));
    const w = a['blk.0.mlp.w1']!.data;
    const sd = Math.sqrt(w.reduce((s, v) => s + v * v, 0) / w.length);
    expect(sd).to.be.closeTo(0.02 * Math.sqrt(384 / 16), 0.03);
    expect(Array.from(a['blk.1.attn.bo']!.data).every((v) => v === 0)).to.equal(true);
    expect(Array.from(a['norm.g']!.data).every((v) => v === 1)).to.equal(true);
    expect(Array.from(initVitParams(cfg, new Rng(1))['patch.w']!.data)).to.deep.equal(Array.from(a['patch.w']!.data));
    expect(Array.from(initVitParams({ ...cfg, posInit: 'normal' }, new Rng(1)).pos!.data.subarray(0, 4))).to.not.deep.equal([0, 0, 0, 0]);
  });
});
