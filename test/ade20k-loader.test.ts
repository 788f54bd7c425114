import { expect } from 'chai';
import { join } from 'node:path';
import { loadAde20k, ade20kClassNames, ADE20K_CLASSES } from '../harness/vision/data/ade20k.js';
import { readImage, singleChannel } from '../harness/vision/data/image-io.js';
import { IGNORE_LABEL } from '../harness/vision/data/types.js';
import { segmentationCounts, segmentationMetrics } from '../harness/vision/probes/metrics.js';
import { sharedData } from './helpers.js';


describe('ADE20K loader (ADEChallengeData2016 samples)', () => {
  it('loads every validation image with its annotation, resized to the model input', function () {
    const ADE = join(sharedData(this, 'ade20k/ADEChallengeData2016'), 'ade20k');
    const s = loadAde20k(ADE, 'validation', { size: 32, labelSize: 64 });
    expect(s.n).to.equal(3);
    expect(s.ids).to.deep.equal(['ADE_val_00000001.jpg', 'ADE_val_00000002.jpg', 'ADE_val_00000003.jpg']);
    expect(s.images.length).to.equal(3 * 32 * 32 * 3);
    expect(s.seg!.length).to.equal(3 * 64 * 64);
    for (const v of s.images) expect(v >= 0 && v <= 1).to.equal(true);
    for (const v of s.seg!) expect(v === IGNORE_LABEL || v < ADE20K_CLASSES).to.equal(true);
  });

  it('maps file value 0 to the ignore label and k to k − 1, pixel for pixel at full size', function () {
    const ADE = join(sharedData(this, 'ade20k/ADEChallengeData2016'), 'ade20k');
    const f = join(ADE, 'ADEChallengeData2016', 'annotations', 'validation', 'ADE_val_00000001.png');
    const raw = singleChannel(readImage(f), f);
    const ann = readImage(f);
    const s = loadAde20k(ADE, 'validation', { size: 32, labelSize: Math.min(ann.width, ann.height), limit: 1 });
    // Centre crop at full resolution: label (i, j) is the file pixel under the centre of output pixel (i, j).
    const side = Math.min(ann.width, ann.height);
    const x0 = (ann.width - side) / 2;
    const y0 = (ann.height - side) / 2;
    expect(x0).to.equal(85.5);
    for (const [i, j] of [[0, 0], [100, 200], [side - 1, side - 1], [250, 17], [300, 301]] as const) {
      const v = raw[Math.floor(i + y0 + 0.5) * ann.width + Math.floor(j + x0 + 0.5)]!;
      expect(s.seg![i * side + j]).to.equal(v === 0 ? IGNORE_LABEL : v - 1);
    }
  });

  it('an annotation scored against itself gives mIoU 100%', function () {
    const ADE = join(sharedData(this, 'ade20k/ADEChallengeData2016'), 'ade20k');
    const s = loadAde20k(ADE, 'validation', { size: 32, labelSize: 128 });
    const m = segmentationMetrics(segmentationCounts(s.seg!, s.seg!, s.n, 128 * 128, ADE20K_CLASSES), 20, 1);
    expect(m['miou,none']!.value).to.equal(1);
    expect(m['pixel_acc,none']!.value).to.equal(1);
  });

  it('reads the 150 class names from objectInfo150.csv', function () {
    const ADE = join(sharedData(this, 'ade20k/ADEChallengeData2016'), 'ade20k');
    const names = ade20kClassNames(join(ADE, 'ADEChallengeData2016'))!;
    expect(names).to.have.length(150);
    expect(names[0]).to.equal('wall');
  });
});
