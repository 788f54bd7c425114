/**
 * Base pretraining on both cores: a batch trained as two shards whose gradients are summed gives the same
 * parameters bit for bit whether the second shard runs on a worker thread or here, and the full batch's
 * update up to float summation order.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { Rng } from '../harness/engine/rng.js';
import { oneHotTargets } from '../harness/language/model/loss.js';
import { trainShardedLM } from '../harness/language/train/sharded.js';
import { trainLM } from '../harness/language/train/trainer.js';
import { arraysEqual, microSuite, snapshot, tinyModel, useWasm } from './helpers.js';

const data = generateEmbedded({ seed: 4, trainSize: 4, testSize: 2, baseSize: 1, streamSize: 60, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });

describe('sharded next-token training (base stage on two cores)', () => {
  before(useWasm);

  it('the worker thread changes nothing in the numbers, and the shards sum to the full-batch update', async () => {
    const s = microSuite();
    const run = async (mode: 'threads' | 'here' | 'full'): Promise<{ params: Record<string, Float32Array>; threaded: boolean; losses: number[] }> => {
      const model = tinyModel(3);
      const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
      const common = { model, rows, steps: 3, batchSize: 5, optim: { ...s.train, totalSteps: 3 }, rng: new Rng(8), logEvery: 1 };
      const counts: number[] = [];
      const onLog = (): void => void counts.push(tf.memory().numTensors);
      const r = mode === 'full'
        ? { ...(await trainLM({ ...common, rule: { targets: (b) => oneHotTargets(b.targets, model.cfg.vocabSize) } })), threaded: false }
        : await trainShardedLM({ ...common, onLog, threads: mode === 'threads' });
      // No tensor leaks from step to step.
      if (counts.length) expect(counts[counts.length - 1]).to.equal(counts[0]);
      const out = { params: snapshot(model.vars), threaded: r.threaded, losses: r.curve.map((p) => p.loss) };
      model.dispose();
      return out;
    };
    const threaded = await run('threads');
    const here = await run('here');
    const full = await run('full');
    expect(threaded.threaded).to.equal(true);
    expect(here.threaded).to.equal(false);
    expect(threaded.losses).to.deep.equal(here.losses);
    for (const k of Object.keys(here.params)) {
      expect(arraysEqual(threaded.params[k]!, here.params[k]!), k).to.equal(true);
      const a = here.params[k]!;
      const b = full.params[k]!;
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!), k).to.be.lessThan(1e-5 + 1e-4 * Math.abs(b[i]!));
    }
    here.losses.forEach((l, i) => expect(l).to.be.closeTo(full.losses[i]!, 1e-5 * Math.abs(l)));
  });
});
