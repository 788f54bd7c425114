import { expect } from 'chai';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { loadVisionData } from '../harness/vision/data/load.js';
import { ensureVisionBase, evaluateRandomInit, evaluateVisionBase, visionBaseDir } from '../harness/vision/base.js';
import { runVisionCell } from '../harness/vision/cell.js';
import { tmp, useWasm } from './helpers.js';
import { tinyVision } from './vision-helpers.js';

const KEYS = ['miou,none', 'pixel_acc,none', 'rmse,none', 'absrel,none', 'delta1,none', 'top1,none'];

describe('vision stages: cached base, reference rows, a continued-pretraining cell', () => {
  before(useWasm);

  it('caches the base checkpoint by config hash and reuses it', () => {
    const cfg = tinyVision();
    const data = loadVisionData(cfg.data, cfg.model.imageSize);
    const cache = tmp();
    const a = ensureVisionBase(cfg, data, cache);
    const dir = visionBaseDir(cfg, data, cache);
    expect(existsSync(join(dir, 'model.safetensors'))).to.equal(true);
    expect(a.curve).to.have.length(3);
    const b = ensureVisionBase(cfg, data, cache);
    expect(b).to.deep.equal(a);
    const other = tinyVision({ base: { ...cfg.base, steps: 2 } });
    expect(visionBaseDir(other, data, cache)).to.not.equal(dir);
    // A probe setting is not part of the checkpoint's hash.
    expect(visionBaseDir(tinyVision({ eval: { ...cfg.eval, segmentationSteps: 5 } }), data, cache)).to.equal(dir);
  });

  it('the same seed gives identical curves and metrics; another seed does not; reference rows have every metric', () => {
    const cfg = tinyVision();
    const data = loadVisionData(cfg.data, cfg.model.imageSize);
    const cache = tmp();
    const a = runVisionCell(cfg, 1, data, cache);
    const b = runVisionCell(cfg, 1, data, cache);
    const c = runVisionCell(cfg, 2, data, cache);
    expect(Object.keys(a.eval.metrics).sort()).to.deep.equal([...KEYS].sort());
    expect(a.eval.metrics).to.deep.equal(b.eval.metrics);
    expect(a.train.curve).to.deep.equal(b.train.curve);
    expect(c.train.curve).to.not.deep.equal(a.train.curve);
    expect(a.eval.higherIsBetter['rmse,none']).to.equal(false);
    const base = evaluateVisionBase(cfg, data, cache);
    const init = evaluateRandomInit(cfg, data, cache);
    expect(Object.keys(base.metrics).sort()).to.deep.equal([...KEYS].sort());
    expect(init.metrics).to.not.deep.equal(base.metrics);
    expect(evaluateRandomInit(cfg, data, cache)).to.deep.equal(init);
  });

  it("eval.select 'base': every cell's probes use the base checkpoint's choices; reference rows keep their cache", () => {
    const cfg = tinyVision({ eval: { ...tinyVision().eval, select: 'base', lrGrid: [0.03, 0.3] } });
    const data = loadVisionData(cfg.data, cfg.model.imageSize);
    const cache = tmp();
    const cell = runVisionCell(cfg, 1, data, cache);
    const base = evaluateVisionBase(cfg, data, cache);
    for (const [probe, choice] of Object.entries(base.choices)) {
      expect(cell.eval.choices[probe]!.lr).to.equal(choice.lr);
      expect(Object.keys(cell.eval.choices[probe]!.validation)).to.deep.equal([String(choice.lr)]);
    }
    // The reference rows search their own grid whatever `select` says, so both settings share their cache.
    expect(evaluateVisionBase(tinyVision({ eval: { ...cfg.eval, select: 'each' } }), data, cache)).to.deep.equal(base);
  });
});
