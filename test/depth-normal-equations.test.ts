import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import type { VisionSplit } from '../harness/vision/data/types.js';
import { normalEquations } from '../harness/vision/probes/depth.js';
import { bilinearMatrix } from '../harness/vision/probes/upsample.js';
import { useWasm } from './helpers.js';

describe('depth probe normal equations (accumulated at grid size)', () => {
  before(useWasm);

  it('equal ZᵀZ and Zᵀy over the valid pixels of explicitly upsampled features (float64, by hand)', () => {
    const rng = new Rng(5);
    const [n, g, L, F] = [3, 4, 12, 5];
    const x = Float32Array.from(rng.normals(n * g * g * F, 1));
    // Depth in (0.5, 5.5) metres, a quarter of the pixels missing (0).
    const depth = Float32Array.from({ length: n * L * L }, () => (rng.next() < 0.25 ? 0 : 0.5 + 5 * rng.next()));
    const split = { n, size: L, labelSize: L, depth } as unknown as VisionSplit;
    const { G, r, count } = normalEquations(x, split, g, F, 2);

    // Independent computation: every pixel's upsampled feature row [F + 1] (bias last), summed in float64.
    const R = bilinearMatrix(g, L);
    const n1 = F + 1;
    const Gref = new Float64Array(n1 * n1);
    const rref = new Float64Array(n1);
    let valid = 0;
    for (let i = 0; i < n; i++) for (let py = 0; py < L; py++) for (let px = 0; px < L; px++) {
      const d = depth[(i * L + py) * L + px] as number;
      if (!(d > 0)) continue;
      valid++;
      const z = new Float64Array(n1);
      for (let gy = 0; gy < g; gy++) for (let gx = 0; gx < g; gx++) {
        const w = (R[py * g + gy] as number) * (R[px * g + gx] as number);
        if (w === 0) continue;
        for (let f = 0; f < F; f++) z[f]! += w * (x[((i * g + gy) * g + gx) * F + f] as number);
        z[F]! += w;
      }
      for (let a = 0; a < n1; a++) {
        rref[a]! += (z[a] as number) * d;
        for (let b = 0; b < n1; b++) Gref[a * n1 + b]! += (z[a] as number) * (z[b] as number);
      }
    }
    expect(count).to.equal(valid);
    for (let k = 0; k < n1 * n1; k++) expect(G[k]).to.be.closeTo(Gref[k] as number, 1e-3 * Math.max(1, Math.abs(Gref[k] as number)));
    for (let k = 0; k < n1; k++) expect(r[k]).to.be.closeTo(rref[k] as number, 1e-3 * Math.max(1, Math.abs(rref[k] as number)));
  });
});
