/**
 * The estimator check (harness/language/bench/estimator.ts) on a tiny model: the pool's g_down built from chunks weighted
 * by answer tokens equals the gradient of the whole pool's mean answer NLL in one batch; a "batch" of every pool
 * problem aligns with it exactly; and D's error against the Richardson reference shrinks as ε² (central) and ε
 * (forward) until float32 rounding takes over at small ε.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { differenceErrors, gDownAlignment, poolGradient } from '../harness/language/bench/estimator.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { formatQA } from '../harness/language/data/numina.js';
import { packDocs, padDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { downstreamGrad, type Subset } from '../harness/language/designer/value.js';
import { Rng } from '../harness/engine/rng.js';
import { disposeBatch, toTensors } from '../harness/language/train/batches.js';
import { subsetNames } from '../harness/language/model/gpt.js';
import { tinyModel, useWasm } from './helpers.js';

describe('estimator check (D by finite differences, g_down against the pool)', () => {
  before(useWasm);

  it('pools g_down over chunks by answer tokens, aligns a whole-pool batch at cos 1, and measures D\'s error', () => {
    const model = tinyModel(4, 3);
    const S: Subset = { from: 1, names: subsetNames(model.cfg, 2) };
    const d = generateEmbedded({ seed: 9, trainSize: 10, testSize: 2, baseSize: 1, streamSize: 30, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
    const rows = padDocs(model.tokenizer, d.train.map((x) => formatQA(x.question, x.answer)));
    const before = tf.memory().numTensors;
    // Chunks of 3 over 10 problems (uneven chunks, different answer lengths) against one batch of all 10.
    const pooled = poolGradient(model, S, rows, 3);
    const all = toTensors(rows);
    const { loss, grads: whole } = downstreamGrad(model, S, all);
    for (const n of S.names) {
      const a = pooled[n]!.dataSync();
      const b = whole[n]!.dataSync();
      const scale = Math.max(...Array.from(b, Math.abs));
      for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).to.be.lessThan(1e-5 * scale + 1e-7);
    }
    const [a] = gDownAlignment(model, S, rows, pooled, [rows.rows], 2, new Rng(3));
    expect(a!.mean).to.be.closeTo(1, 1e-5);
    expect(a!.draws).to.equal(2);

    const stream = packDocs(model.tokenizer, d.cpt.map(rowToDoc), 24);
    const b = toTensors(selectRows(stream, [0, 1]));
    const eps = [3e-2, 1e-2, 3e-3, 1e-3, 1e-5, 1e-6];
    const errs = differenceErrors(model, S, b, whole, 6, eps);
    expect(errs.map((e) => e.eps)).to.deep.equal(eps);
    const at = (e: number) => errs.find((x) => x.eps === e)!;
    // Truncation: O(ε²) for central differences ((1e-2 / 3e-3)² ≈ 11), O(ε) for forward (10×).
    expect(at(1e-2).central / at(3e-3).central).to.be.within(6, 20);
    expect(at(1e-2).forward / at(1e-3).forward).to.be.within(5, 20);
    // Rounding: below some ε float32 takes over, so each scheme's error is smallest at an interior ε.
    expect(at(1e-3).central).to.be.lessThan(at(3e-2).central / 10).and.lessThan(at(1e-6).central / 10);
    expect(at(1e-5).forward).to.be.lessThan(at(1e-2).forward / 10).and.lessThan(at(1e-6).forward);
    loss.dispose();
    tf.dispose([...Object.values(pooled), ...Object.values(whole)]);
    disposeBatch(all);
    disposeBatch(b);
    expect(tf.memory().numTensors).to.equal(before);
  });
});
