import { expect } from 'chai';
import { parseVisionConfig } from '../harness/vision/schema.js';

describe('vision suite keys (schema)', () => {
  it('fills every default', () => {
    const c = parseVisionConfig({});
    expect(c.model).to.deep.include({ imageSize: 32, patchSize: 4, width: 64, depth: 4, headOut: 1024, headNorm: 'none', headPool: 'cls' });
    expect(c.data).to.deep.include({ kind: 'embedded', unlabeled: 2048, label: 'nearest-type', patterns: true });
    expect(c.base.dino).to.deep.equal({
      studentTemp: 0.1, teacherTemp: 0.04, centerMomentum: 0.9, teacherMomentum: 0.996, centering: 'ema',
      ibotWeight: 0, ibotMaskProb: 0.5, ibotMaskRatio: [0.1, 0.5], koleoWeight: 0,
    });
    expect(c.base.augment.globalScale).to.deep.equal([0.4, 1]);
    expect(c.train.augment.nLocal).to.equal(4);
    expect(c.eval.backbone).to.equal('teacher');
  });

  it('rejects unknown keys, naming them', () => {
    expect(() => parseVisionConfig({ model: { widht: 64 } } as never)).to.throw(/widht/);
    expect(() => parseVisionConfig({ train: { dino: { temp: 1 } } } as never)).to.throw(/temp/);
    expect(() => parseVisionConfig({ train: { dino: { centering: 'softmax' } } } as never)).to.throw(/centering/);
    expect(() => parseVisionConfig({ base: { dino: { ibotMaskRatio: [0.6, 0.2] } } })).to.throw(/ibotMaskRatio/);
    expect(() => parseVisionConfig({ base: { dino: { koleoWeight: -1 } } })).to.throw(/koleoWeight/);
    expect(() => parseVisionConfig({ data: { kind: 'embedded', label: 'count' } } as never)).to.throw(/label/);
  });

  it('checks cross-field constraints with the key in the message', () => {
    expect(() => parseVisionConfig({ model: { imageSize: 30 } })).to.throw(/model.imageSize 30 is not a multiple of model.patchSize 4/);
    expect(() => parseVisionConfig({ train: { augment: { localSize: 10 } } })).to.throw(/train.augment.localSize/);
    expect(() => parseVisionConfig({ design: { subsetBlocks: 9 } })).to.throw(/design.subsetBlocks/);
  });
});
