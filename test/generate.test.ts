import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { Rng } from '../harness/engine/rng.js';
import { cutAtStop, generateGreedy } from '../harness/language/model/generate.js';
import { forward } from '../harness/language/model/gpt.js';
import { oneHotTargets } from '../harness/language/model/loss.js';
import type { LanguageModel } from '../harness/language/model/model.js';
import { trainLM } from '../harness/language/train/trainer.js';
import { microSuite, tinyModel, useWasm } from './helpers.js';

/** Second implementation: no cache, each row decoded alone with a full forward per token. */
function referenceGreedy(model: LanguageModel, prompt: string, maxNew: number, stop: string[]): string {
  const tok = model.tokenizer;
  const ids = tok.encode(prompt);
  const start = ids.length;
  let text = '';
  for (let k = 0; k < maxNew && ids.length < model.cfg.blockSize; k++) {
    const next = tf.tidy(() => {
      const logits = forward(model.cfg, model.params, tf.tensor2d(ids, [1, ids.length], 'int32'));
      return tf.argMax(logits.slice([ids.length - 1, 0], [1, -1]), -1).dataSync()[0]!;
    });
    if (next === tok.eosId) break;
    ids.push(next);
    const [t, stopped] = cutAtStop(tok.decode(ids.slice(start)), stop);
    text = t;
    if (stopped) break;
  }
  return text;
}

describe('greedy generation with a key/value cache', () => {
  before(useWasm);

  it('matches an uncached one-row-at-a-time decoder on prompts of different lengths', async () => {
    const model = tinyModel(12);
    const d = generateEmbedded({ seed: 2, trainSize: 8, testSize: 6, baseSize: 1, streamSize: 200, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
    const s = microSuite();
    await trainLM({
      model, rows: packDocs(model.tokenizer, d.cpt.map(rowToDoc), 64), steps: 30, batchSize: 8, rng: new Rng(1),
      rule: { targets: (b) => oneHotTargets(b.targets, model.cfg.vocabSize) }, optim: { ...s.train, lr: 5e-3, totalSteps: 30 },
    });
    const prompts = [...d.test.map((t) => `Question: ${t.question}\nAnswer:`), 'Question: Hi?\nAnswer:'];
    const stop = ['Question:', '\n#'];
    const got = await generateGreedy(model, prompts, { maxNewTokens: 24, stop, batchSize: 4 });
    const want = prompts.map((p) => referenceGreedy(model, p, 24, stop));
    expect(got).to.deep.equal(want);
    expect(want.some((w) => w.length > 0)).to.equal(true);
    model.dispose();
  });

  it('cuts at the earliest stop string', () => {
    expect(cutAtStop('12\n#### 3\n\nQuestion: next', ['Question:', '</s>'])).to.deep.equal(['12\n#### 3\n\n', true]);
    expect(cutAtStop('no stop', ['Question:'])).to.deep.equal(['no stop', false]);
  });
});
