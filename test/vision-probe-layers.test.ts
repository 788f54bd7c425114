import { expect } from 'chai';
import { Rng } from '../harness/engine/rng.js';
import { loadVisionData } from '../harness/vision/data/load.js';
import { DinoModel } from '../harness/vision/model.js';
import { dinoModelConfig, parseVisionConfig } from '../harness/vision/schema.js';
import { evaluateBackbone, probeLayers } from '../harness/vision/evaluate.js';
import { useWasm } from './helpers.js';
import { TINY_VISION, tinyVision } from './vision-helpers.js';

describe('probe layers per probe (eval.layers as { segmentation, depth, classification })', () => {
  before(useWasm);

  it('each probe scores exactly as it does when every probe reads its layer count, in the usual metric order', () => {
    const per = tinyVision({ eval: { ...TINY_VISION.eval, layers: { segmentation: 2, depth: 2 } } });
    expect(probeLayers(per.eval, 'segmentation')).to.equal(2);
    expect(probeLayers(per.eval, 'classification')).to.equal(1);
    const data = loadVisionData(per.data, per.model.imageSize);
    const model = DinoModel.init(dinoModelConfig(per.model), new Rng(3).fork('init'));
    try {
      const mixed = evaluateBackbone(model, data, per.eval);
      const two = evaluateBackbone(model, data, { ...per.eval, layers: 2 });
      const one = evaluateBackbone(model, data, { ...per.eval, layers: 1 });
      expect(Object.keys(mixed.metrics)).to.deep.equal(Object.keys(one.metrics));
      for (const key of ['miou,none', 'pixel_acc,none', 'rmse,none', 'absrel,none', 'delta1,none']) expect(mixed.metrics[key]).to.deep.equal(two.metrics[key]);
      expect(mixed.metrics['top1,none']).to.deep.equal(one.metrics['top1,none']);
      expect(mixed.choices.depth).to.deep.equal(two.choices.depth);
      expect(mixed.choices.classification).to.deep.equal(one.choices.classification);
      // The two layer counts give different depth features, so the check above can fail.
      expect(two.metrics['rmse,none']?.value).to.not.equal(one.metrics['rmse,none']?.value);
    } finally {
      model.dispose();
    }
  });

  it('an unknown probe name under eval.layers is an error naming the key', () => {
    expect(() => parseVisionConfig({ ...TINY_VISION, eval: { layers: { segmentation: 2, dept: 4 } } } as never)).to.throw(/dept/);
  });
});
