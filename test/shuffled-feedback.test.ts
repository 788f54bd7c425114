/**
 * The shuffled-feedback control's rows: every question keeps its own tokens and gets the worked answer of
 * another problem (no question keeps its own), with the loss mask on exactly the answer tokens; the same
 * seed gives the same pairing. Its g_down has the real one's scale but another direction.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { shuffleAnswers, trimPadding } from '../harness/language/arms/feedback.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { formatQA } from '../harness/language/data/numina.js';
import { padDocs, type TokenRows } from '../harness/language/data/pack.js';
import { downstreamGrad, type Subset } from '../harness/language/designer/value.js';
import { Rng } from '../harness/engine/rng.js';
import { globalNorm } from '../harness/engine/ops.js';
import { toTensors } from '../harness/language/train/batches.js';
import { subsetNames } from '../harness/language/model/gpt.js';
import type { LanguageModel } from '../harness/language/model/model.js';
import { tinyModel, useWasm } from './helpers.js';

/** Question tokens and answer tokens of row i (the answer: targets under the mask). */
function parts(r: TokenRows, i: number): { prompt: number[]; answer: number[] } {
  const L = r.seqLen;
  const mask = Array.from(r.mask.subarray(i * L, (i + 1) * L));
  const first = mask.findIndex((m) => m !== 0);
  return {
    prompt: Array.from(r.inputs.subarray(i * L, i * L + first + 1)),
    answer: mask.map((m, t) => (m !== 0 ? r.targets[i * L + t]! : -1)).filter((x) => x >= 0),
  };
}

describe('shuffled feedback', () => {
  let model: LanguageModel;
  let rows: TokenRows;
  before(async () => {
    await useWasm();
    model = tinyModel(3);
    const d = generateEmbedded({ seed: 4, trainSize: 12, testSize: 2, baseSize: 1, streamSize: 10, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
    rows = padDocs(model.tokenizer, d.train.map((x) => formatQA(x.question, x.answer)));
  });
  after(() => model.dispose());

  it('pairs every question with another problem\'s answer, masks exactly the answer, and is seeded', () => {
    const out = shuffleAnswers(rows, new Rng(7), model.tokenizer.eosId, 128);
    const answers = Array.from({ length: rows.rows }, (_, i) => JSON.stringify(parts(rows, i).answer));
    const used: number[] = [];
    for (let i = 0; i < rows.rows; i++) {
      const mine = parts(out, i);
      expect(mine.prompt).to.deep.equal(parts(rows, i).prompt);
      const j = answers.indexOf(JSON.stringify(mine.answer));
      expect(j, `row ${i} carries some problem's answer`).to.be.at.least(0);
      expect(j, `row ${i} keeps its own answer`).to.not.equal(i);
      used.push(j);
      // The teacher-forced row is the concatenation: inputs shifted by one against targets.
      const L = out.seqLen;
      for (let t = 1; t < L; t++) if (out.mask[i * L + t] !== 0) expect(out.inputs[i * L + t]).to.equal(out.targets[i * L + t - 1]);
    }
    // A permutation: each answer used once.
    expect(new Set(used).size).to.equal(rows.rows);
    const again = shuffleAnswers(rows, new Rng(7), model.tokenizer.eosId, 128);
    expect(Array.from(again.targets)).to.deep.equal(Array.from(out.targets));
    expect(Array.from(shuffleAnswers(rows, new Rng(8), model.tokenizer.eosId, 128).targets)).to.not.deep.equal(Array.from(out.targets));
  });

  it('gives a downstream gradient of the same scale and another direction', () => {
    const S: Subset = { from: 1, names: subsetNames(model.cfg, 1) };
    const grad = (r: TokenRows) => {
      const b = toTensors(trimPadding(r));
      return downstreamGrad(model, S, b).grads;
    };
    const real = grad(rows);
    const shuffled = grad(shuffleAnswers(rows, new Rng(7), model.tokenizer.eosId, 128));
    const nr = globalNorm(Object.values(real)).dataSync()[0]!;
    const ns = globalNorm(Object.values(shuffled)).dataSync()[0]!;
    expect(ns / nr).to.be.within(0.5, 2);
    const cos = tf.addN(Object.keys(real).map((k) => tf.sum(tf.mul(real[k]!, shuffled[k]!)))).dataSync()[0]! / (nr * ns);
    expect(cos).to.be.lessThan(0.999);
  });
});
