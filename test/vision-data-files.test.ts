import { expect } from 'chai';
import { cpSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { holdOut, loadVisionData } from '../harness/vision/data/load.js';
import { Rng } from '../harness/engine/rng.js';
import { parseVisionConfig } from '../harness/vision/schema.js';
import { sharedData, tmp } from './helpers.js';

describe('vision data from files (published layouts)', () => {
  it('loads unlabeled images, the three probe tasks with validation carved from train, and feedback, with hashes', function () {
    const SHARED = sharedData(this, 'ade20k/ADEChallengeData2016', 'imagenet/sample', 'imagenet/LOC_synset_mapping.txt', 'nyuv2/metric3d_nyu_demo');
    const root = tmp();
    // ADE20K has only validation samples here: use them as both splits of a temporary layout.
    const ade = join(root, 'ade', 'ADEChallengeData2016');
    for (const split of ['training', 'validation']) {
      for (const kind of ['images', 'annotations']) {
        mkdirSync(join(ade, kind, split), { recursive: true });
        cpSync(join(SHARED, 'ade20k', 'ADEChallengeData2016', kind, 'validation'), join(ade, kind, split), { recursive: true });
      }
    }
    const cfg = parseVisionConfig({
      data: {
        kind: 'files',
        unlabeled: join(SHARED, 'imagenet', 'sample'),
        ade20k: join(root, 'ade'),
        nyuv2Train: join(SHARED, 'nyuv2'),
        nyuv2Test: join(SHARED, 'nyuv2', 'metric3d_nyu_demo'),
        imagenetTrain: join(SHARED, 'imagenet', 'sample'),
        imagenetTest: join(SHARED, 'imagenet', 'sample'),
        synsetMapping: join(SHARED, 'imagenet', 'LOC_synset_mapping.txt'),
        validationFraction: 0.25,
        feedbackFraction: 0.34,
        limit: 8,
      },
    });
    const d = loadVisionData(cfg.data, 32);
    expect(d.unlabeled.n).to.equal(8);
    expect(d.info).to.deep.include({ segClasses: 150, maxDepth: 10, numClasses: 1000 });
    const seg = d.probes.segmentation!;
    expect([seg.train.n, seg.validation.n, seg.test.n, d.feedback.segmentation!.n]).to.deep.equal([1, 1, 3, 1]);
    const cls = d.probes.classification!;
    expect(cls.train.n + cls.validation.n).to.equal(8);
    expect(cls.validation.n).to.equal(2);
    expect(d.probes.depth!.test.n).to.equal(3);
    expect(Object.keys(d.hashes)).to.include.members(['unlabeled', 'segmentation.train', 'depth.test', 'classification.validation', 'feedback.depth']);
    // The same settings give the same split (seeded), so hashes are stable.
    expect(loadVisionData(cfg.data, 32).hashes).to.deep.equal(d.hashes);
  });

  it('holds out a seeded, disjoint share', () => {
    const s = { images: new Float32Array(10 * 3), n: 10, size: 1, labelSize: 1, labels: Int32Array.from({ length: 10 }, (_, i) => i), ids: Array.from({ length: 10 }, (_, i) => `i${i}`) };
    const a = holdOut(s, 0.3, new Rng(1));
    const b = holdOut(s, 0.3, new Rng(1));
    expect(a.held.ids).to.deep.equal(b.held.ids);
    expect(a.held.n).to.equal(3);
    expect([...a.held.ids, ...a.rest.ids].sort()).to.deep.equal([...s.ids].sort());
  });
});
