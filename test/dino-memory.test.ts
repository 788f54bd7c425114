import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { loadVisionData } from '../harness/vision/data/load.js';
import { DinoModel } from '../harness/vision/model.js';
import { dinoModelConfig, stageAugment, stageDino, stageOptim } from '../harness/vision/schema.js';
import { trainDino } from '../harness/vision/trainer.js';
import { evaluateBackbone } from '../harness/vision/evaluate.js';
import { useWasm } from './helpers.js';
import { tinyVision } from './vision-helpers.js';

describe('DINO training memory', () => {
  before(useWasm);

  it('keeps tf.memory().numTensors flat across DINO steps (2 global + local crops, EMA, centre)', () => {
    const cfg = tinyVision();
    const data = loadVisionData(cfg.data, cfg.model.imageSize);
    const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(1));
    const counts: number[] = [];
    const s = { ...cfg.train, steps: 8 };
    trainDino({
      model, pool: { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images },
      steps: 8, batchSize: 4, optim: stageOptim(s), dino: stageDino(s), augment: stageAugment(s, cfg.model), rng: new Rng(2), logEvery: 1,
      onLog: () => counts.push(tf.memory().numTensors),
    });
    expect(counts).to.have.length(8);
    expect(counts[counts.length - 1]).to.equal(counts[1]);
    model.dispose();
  });

  it('a whole training run and a probe evaluation leave no tensor behind', () => {
    const cfg = tinyVision();
    const data = loadVisionData(cfg.data, cfg.model.imageSize);
    const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(1));
    const s = { ...cfg.train, steps: 2 };
    const run = (): void => {
      trainDino({ model, pool: { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images }, steps: 2, batchSize: 4, optim: stageOptim(s), dino: stageDino(s), augment: stageAugment(s, cfg.model), rng: new Rng(2) });
      evaluateBackbone(model, data, cfg.eval);
    };
    run(); // fills the per-shape caches (position resampler, upsampling matrices)
    const before = tf.memory().numTensors;
    run();
    expect(tf.memory().numTensors).to.equal(before);
    model.dispose();
  });
});
