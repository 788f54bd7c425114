import { expect } from 'chai';
import { IGNORE_LABEL } from '../harness/vision/data/types.js';
import { depthMetrics, PROBE_HIGHER_IS_BETTER, segmentationCounts, segmentationMetrics, top1Metric } from '../harness/vision/probes/metrics.js';

const I = IGNORE_LABEL;

describe('probe metrics (hand-worked cases)', () => {
  it('mIoU sums intersection and union over the dataset, skips ignored pixels and absent classes', () => {
    // Image 1: gt [0 0 1 I], pred [0 1 1 2]; image 2: gt [2 2 0 0], pred [2 0 0 0]; class 3 appears nowhere.
    const gt = [0, 0, 1, I, 2, 2, 0, 0];
    const pred = [0, 1, 1, 2, 2, 0, 0, 0];
    const m = segmentationMetrics(segmentationCounts(pred, gt, 2, 4, 4), 50, 1);
    // IoU: class 0 = 3/5, class 1 = 1/2, class 2 = 1/2 (the prediction 2 on an ignored pixel does not count).
    expect(m['miou,none']!.value).to.be.closeTo((0.6 + 0.5 + 0.5) / 3, 1e-12);
    expect(m['pixel_acc,none']!.value).to.be.closeTo(5 / 7, 1e-12);
    expect(m['miou,none']!.n).to.equal(2);
    expect(m['miou,none']!.stderr).to.be.greaterThan(0);
  });

  it('a perfect prediction scores 1 on both', () => {
    const gt = [0, 1, 2, I, 1, 1];
    const m = segmentationMetrics(segmentationCounts(gt, gt, 2, 3, 3), 10, 1);
    expect(m['miou,none']!.value).to.equal(1);
    expect(m['pixel_acc,none']!.value).to.equal(1);
  });

  it('depth errors are per image on valid pixels (gt > 0), then averaged; images without valid pixels are left out', () => {
    const gt = [1, 2, 0, 4, 4, 4, 0, 0, 0];
    const pred = [2, 2, 5, 4.4, 3, 4, 1, 1, 1];
    const m = depthMetrics(pred, gt, 3, 3);
    const rmse = (Math.sqrt(1 / 2) + Math.sqrt((0.16 + 1) / 3)) / 2;
    expect(m['rmse,none']!.value).to.be.closeTo(rmse, 1e-6);
    expect(m['absrel,none']!.value).to.be.closeTo((0.5 + (0.1 + 0.25) / 3) / 2, 1e-6);
    expect(m['delta1,none']!.value).to.be.closeTo((0.5 + 2 / 3) / 2, 1e-9);
    expect(m['rmse,none']!.n).to.equal(2);
  });

  it('top-1 is the share of exact matches with stderr sd/√n', () => {
    const m = top1Metric([1, 2, 3, 4], [1, 2, 0, 4]);
    expect(m['top1,none']!.value).to.equal(0.75);
    expect(m['top1,none']!.stderr).to.be.closeTo(0.25, 1e-12);
  });

  it('declares a direction for every metric it produces', () => {
    expect(PROBE_HIGHER_IS_BETTER).to.deep.equal({ miou: true, pixel_acc: true, rmse: false, absrel: false, delta1: true, top1: true });
  });
});
