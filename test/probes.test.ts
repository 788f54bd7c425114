import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import type { VisionSplit } from '../harness/vision/data/types.js';
import { DEFAULT_PROBE } from '../harness/vision/probes/config.js';
import { evaluateProbes } from '../harness/vision/probes/evaluate.js';
import type { FeatureFn } from '../harness/vision/probes/features.js';
import { solveSpd } from '../harness/vision/probes/depth.js';
import { depthMetrics } from '../harness/vision/probes/metrics.js';
import { useWasm } from './helpers.js';

/**
 * Images whose 4×4 patches are flat: channel 0 codes the patch's class, channel 1 its depth, channel 2 the
 * image label; labels follow the patches, so a linear probe on patch means can recover everything.
 */
function codedSplit(n: number, rng: Rng): VisionSplit {
  const S = 16;
  const g = 4;
  const images = new Float32Array(n * S * S * 3);
  const seg = new Uint8Array(n * S * S);
  const depth = new Float32Array(n * S * S);
  const labels = new Int32Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = rng.int(0, 2);
    for (let a = 0; a < g; a++) for (let b = 0; b < g; b++) {
      const cls = rng.int(0, 3);
      const d = 1 + 8 * rng.next();
      for (let y = a * 4; y < a * 4 + 4; y++) for (let x = b * 4; x < b * 4 + 4; x++) {
        const p = i * S * S + y * S + x;
        images[p * 3] = cls / 3;
        images[p * 3 + 1] = d / 10;
        images[p * 3 + 2] = labels[i]! / 2;
        seg[p] = cls;
        depth[p] = d;
      }
    }
  }
  return { images, n, size: S, labelSize: S, seg, depth, labels, ids: Array.from({ length: n }, (_, i) => `c${i}`) };
}

/** Patch means as patch tokens, plus a one-hot of the class code (what a good backbone would make linear). */
const patchMeans: FeatureFn = (images, n, size) => {
  const g = size / 4;
  const D = 7;
  const patch = new Float32Array(n * g * g * D);
  const cls = new Float32Array(n * D);
  for (let i = 0; i < n; i++) for (let a = 0; a < g; a++) for (let b = 0; b < g; b++) {
    const t = (i * g * g + a * g + b) * D;
    const px = (i * size * size + a * 4 * size + b * 4) * 3;
    const c = Math.round((images[px] as number) * 3);
    patch[t + c] = 1;
    patch[t + 4] = images[px + 1] as number;
    patch[t + 5] = images[px + 2] as number;
    patch[t + 6] = 1;
    for (let k = 0; k < D; k++) cls[i * D + k]! += (patch[t + k] as number) / (g * g);
  }
  return { n, dim: D, grid: g, cls, patch };
};

describe('frozen-backbone probes', () => {
  before(useWasm);

  it('recover labels that the features encode linearly (segmentation, depth, classification), choosing on validation', () => {
    const rng = new Rng(3);
    const set = { train: codedSplit(48, rng), validation: codedSplit(16, rng), test: codedSplit(24, rng) };
    const ev = evaluateProbes(patchMeans, { segmentation: set, depth: set, classification: set }, { numClasses: 3, segClasses: 4, maxDepth: 10 }, { ...DEFAULT_PROBE, segmentationSteps: 60, bootstrap: 20 });
    expect(ev.metrics['miou,none']!.value).to.be.greaterThan(0.9);
    expect(ev.metrics['pixel_acc,none']!.value).to.be.greaterThan(0.9);
    // Neighbouring patches have independent depths, so bilinear upsampling blurs patch borders: compare with
    // the best constant prediction instead of asking for zero error.
    const gt = set.test.depth!;
    const mean = set.train.depth!.reduce((a, b) => a + b, 0) / set.train.depth!.length;
    const constant = depthMetrics(new Float32Array(gt.length).fill(mean), gt, set.test.n, 16 * 16);
    expect(ev.metrics['rmse,none']!.value).to.be.lessThan(0.5 * constant['rmse,none']!.value);
    expect(ev.metrics['absrel,none']!.value).to.be.lessThan(0.5 * constant['absrel,none']!.value);
    expect(ev.metrics['delta1,none']!.value).to.be.greaterThan(constant['delta1,none']!.value + 0.2);
    expect(ev.metrics['top1,none']!.value).to.equal(1);
    expect(Object.keys(ev.choices.segmentation!.validation)).to.have.length(DEFAULT_PROBE.lrGrid.length);
    expect(ev.higherIsBetter).to.deep.include({ 'miou,none': true, 'rmse,none': false });
  });

  it('a fixed hyperparameter replaces the search and reproduces the searched fit at the same value', () => {
    const rng = new Rng(5);
    const set = { train: codedSplit(32, rng), validation: codedSplit(12, rng), test: codedSplit(16, rng) };
    const tasks = { segmentation: set, depth: set, classification: set };
    const info = { numClasses: 3, segClasses: 4, maxDepth: 10 };
    const cfg = { ...DEFAULT_PROBE, segmentationSteps: 20, classificationSteps: 40, bootstrap: 0 };
    const searched = evaluateProbes(patchMeans, tasks, info, cfg);
    const fixed = Object.fromEntries(Object.entries(searched.choices).map(([k, c]) => [k, c.lr]));
    const again = evaluateProbes(patchMeans, tasks, info, { ...cfg, fixed });
    expect(again.metrics).to.deep.equal(searched.metrics);
    for (const probe of ['segmentation', 'depth', 'classification']) {
      expect(Object.keys(again.choices[probe]!.validation)).to.deep.equal([String(fixed[probe])]);
    }
    // A value off the grid is used as given.
    const off = evaluateProbes(patchMeans, { classification: set }, info, { ...cfg, fixed: { classification: 0.05 } });
    expect(off.choices.classification!.lr).to.equal(0.05);
  });

  it('solves symmetric positive definite systems (the ridge fit)', () => {
    const A = new Float64Array([4, 2, 0, 2, 5, 1, 0, 1, 3]);
    const x = solveSpd(A, new Float64Array([2, 9, 5]), 3);
    // A·[0, 1, 4/3]ᵀ = [2, 5 + 4/3, 1 + 4] — check by multiplying back.
    const back = [0, 1, 2].map((i) => [0, 1, 2].reduce((s, j) => s + A[i * 3 + j]! * x[j]!, 0));
    expect(back[0]).to.be.closeTo(2, 1e-12);
    expect(back[1]).to.be.closeTo(9, 1e-12);
    expect(back[2]).to.be.closeTo(5, 1e-12);
  });
});
