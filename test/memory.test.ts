import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { AdamW } from '../harness/optim/adamw.js';
import { armRegistry } from '../harness/language/arms/index.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { Rng } from '../harness/engine/rng.js';
import { trainLM } from '../harness/language/train/trainer.js';
import { microSuite, tinyModel, useWasm } from './helpers.js';

describe('tensor memory', () => {
  before(useWasm);

  for (const armName of ['baseline', 'v-pretraining', 'self-distill', 'oracle-gate', 'shuffled-feedback']) {
    it(`keeps tf.memory().numTensors flat across training steps (${armName})`, async () => {
      const model = tinyModel(2);
      const d = generateEmbedded({ seed: 3, trainSize: 16, testSize: 2, baseSize: 1, streamSize: 60, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });
      const rows = packDocs(model.tokenizer, d.cpt.map(rowToDoc), 32);
      const s = microSuite();
      // Designer arms take 2 designer steps per meta step and probe after steps 5 and 11 (kept θ_S in between).
      const probeRows = selectRows(rows, Array.from({ length: 10 }, (_, i) => i));
      const design = { ...s.design, burnIn: 0, metaEvery: 1, designerSteps: 2, probeBatches: 5, probePoints: 2 };
      const rule = armRegistry.get(armName).create({ model, design, rng: new Rng(1), feedback: d.train, steps: 12, probeRows });
      const counts: number[] = [];
      await trainLM({
        model, rows, steps: 12, batchSize: 2, rng: new Rng(2), rule, logEvery: 1,
        optim: { ...s.train, totalSteps: 12 },
        onLog: () => counts.push(tf.memory().numTensors),
      });
      // After warm-up (cached masks, optimiser state), the count must not grow with steps.
      expect(counts[counts.length - 1]).to.equal(counts[2]);
      rule.dispose?.();
      model.dispose();
    });
  }

  it('an AdamW optimiser leaves nothing behind once disposed', () => {
    const vars = { w: tf.variable(tf.ones([3, 4])), b: tf.variable(tf.zeros([4])) };
    const before = tf.memory().numTensors;
    const s = microSuite();
    const opt = new AdamW({ ...s.train, totalSteps: 4 }, vars);
    const grads = { w: tf.onesLike(vars.w), b: tf.onesLike(vars.b) };
    opt.apply(grads).dispose();
    tf.dispose(Object.values(grads));
    opt.dispose();
    expect(tf.memory().numTensors).to.equal(before);
    tf.dispose(Object.values(vars));
  });
});
