import { expect } from 'chai';
import { centreSquare, resizeNearest, resizeRgbArea } from '../harness/vision/data/image-io.js';

describe('resizing at load time (shorter side to the target, centre square)', () => {
  it('area-averages RGB over each output pixel footprint', () => {
    // 4×2 image (w=4, h=2): centre square is columns 1..2; 2 → 1 averages all four pixels.
    const rgb = new Float32Array([0, 0, 0, 0.2, 0.2, 0.2, 0.4, 0.4, 0.4, 1, 1, 1, 1, 1, 1, 0.6, 0.6, 0.6, 0.8, 0.8, 0.8, 1, 1, 1]);
    expect(centreSquare(4, 2)).to.deep.equal({ x0: 1, y0: 0, side: 2 });
    const out = resizeRgbArea(rgb, 4, 2, 1);
    expect(out[0]).to.be.closeTo((0.2 + 0.4 + 0.6 + 0.8) / 4, 1e-6);
  });

  it('keeps labels whole with nearest sampling (no blended classes)', () => {
    const lab = new Uint8Array([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    expect(Array.from(resizeNearest(lab, 4, 4, 2, (n) => new Uint8Array(n)))).to.deep.equal([1, 2, 3, 4]);
  });
});
