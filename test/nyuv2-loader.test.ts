import { expect } from 'chai';
import { join } from 'node:path';
import { findDepthPairs, loadNyuDepth } from '../harness/vision/data/nyuv2.js';
import { sharedData } from './helpers.js';


describe('NYUv2 depth loader (RGB + 16-bit PNG depth in millimetres)', () => {
  it('pairs RGB and depth in both published layouts (rgb/ + depth/, images/ + annotations/)', function () {
    const NYU = join(sharedData(this, 'nyuv2'), 'nyuv2');
    const pairs = findDepthPairs(NYU).map((p) => [p.rgb.slice(NYU.length + 1), p.depth.slice(NYU.length + 1), p.scale]);
    expect(pairs).to.deep.equal([
      ['metric3d_nyu_demo/rgb/rgb_00000.jpg', 'metric3d_nyu_demo/depth/sync_depth_00000.png', 1000],
      ['metric3d_nyu_demo/rgb/rgb_00050.jpg', 'metric3d_nyu_demo/depth/sync_depth_00050.png', 1000],
      ['metric3d_nyu_demo/rgb/rgb_00100.jpg', 'metric3d_nyu_demo/depth/sync_depth_00100.png', 1000],
      ['mmseg_pseudo_nyu_dataset/images/bookstore_0001d_00001.jpg', 'mmseg_pseudo_nyu_dataset/annotations/bookstore_0001d_00001.png', 1000],
    ]);
  });

  it('decodes depth to metres in (0, 10], with 0 kept as missing', function () {
    const NYU = join(sharedData(this, 'nyuv2'), 'nyuv2');
    const s = loadNyuDepth(NYU, { size: 32, labelSize: 120 });
    expect(s.n).to.equal(4);
    let valid = 0;
    let missing = 0;
    for (const d of s.depth!) {
      if (d === 0) missing++;
      else {
        expect(d > 0 && d <= 10, `depth ${d}`).to.equal(true);
        valid++;
      }
    }
    expect(valid).to.be.greaterThan(missing);
    expect(missing).to.be.greaterThan(0);
    const max = s.depth!.reduce((a, b) => Math.max(a, b), 0);
    expect(max).to.be.greaterThan(5);
  });
});
