/**
 * The shuffled-feedback control on data that names its problems' families (the embedded generator): every question
 * takes a worked answer of another family, so the operations after each question are wrong where it matters; each
 * answer is used once; the pairing is seeded. A pool where one family holds more than half cannot be paired so,
 * and says so. GSM8K train rows carry their family as `vpt_family`, and the loader reads it.
 */
import { expect } from 'chai';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { familiesOf, shuffleAnswers } from '../harness/language/arms/feedback.js';
import { ensureEmbedded, generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { loadGsm8k } from '../harness/language/data/gsm8k.js';
import { formatQA } from '../harness/language/data/numina.js';
import { padDocs, type TokenRows } from '../harness/language/data/pack.js';
import { Rng } from '../harness/engine/rng.js';
import type { LanguageModel } from '../harness/language/model/model.js';
import { tinyModel, useWasm } from './helpers.js';

/** The answer tokens of row i (targets under the mask). */
function answer(r: TokenRows, i: number): string {
  const L = r.seqLen;
  const out: number[] = [];
  for (let t = 0; t < L; t++) if (r.mask[i * L + t] !== 0) out.push(r.targets[i * L + t]!);
  return JSON.stringify(out);
}

describe('shuffled feedback from other families', () => {
  let model: LanguageModel;
  before(async () => {
    await useWasm();
    model = tinyModel(3);
  });
  after(() => model.dispose());

  it('the embedded GSM8K train rows name their family, and the loader reads it', () => {
    const cache = mkdtempSync(join(tmpdir(), 'vpt-fam-'));
    const paths = ensureEmbedded({ seed: 4, trainSize: 30, testSize: 2, baseSize: 1, streamSize: 10, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 }, cache);
    const items = loadGsm8k(paths.gsm8kTrain);
    expect(items).to.have.length(30);
    expect(new Set(items.map((x) => x.family)).size).to.be.greaterThan(2);
    expect(JSON.parse(readFileSync(paths.gsm8kTrain, 'utf8').split('\n')[0]!)).to.have.property('vpt_family', items[0]!.family);
    // Real GSM8K has none: the control falls back to a plain derangement.
    expect(familiesOf([{ question: 'q', answer: '#### 1' }])).to.deep.equal({});
    const bad = join(cache, 'bad.jsonl');
    writeFileSync(bad, JSON.stringify({ question: 'q', answer: '#### 1', vpt_family: 3 }) + '\n');
    expect(() => loadGsm8k(bad)).to.throw(`${bad}:1: field 'vpt_family' must be a string`);
  });

  it('pairs every question with an answer of another family, each answer once, seeded', () => {
    const d = generateEmbedded({ seed: 4, trainSize: 24, testSize: 2, baseSize: 1, streamSize: 10, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
    const rows = padDocs(model.tokenizer, d.train.map((x) => formatQA(x.question, x.answer)));
    const families = d.train.map((x) => x.vpt_family);
    const answers = Array.from({ length: rows.rows }, (_, i) => answer(rows, i));
    for (const seed of [1, 2, 3]) {
      const out = shuffleAnswers(rows, new Rng(seed), model.tokenizer.eosId, 128, families);
      const used = Array.from({ length: rows.rows }, (_, i) => {
        const j = answers.indexOf(answer(out, i));
        expect(j, `row ${i} carries some problem's answer`).to.be.at.least(0);
        expect(families[j], `row ${i} (${families[i]}) took an answer of its own family`).to.not.equal(families[i]);
        return j;
      });
      expect(new Set(used).size).to.equal(rows.rows);
    }
    const a = shuffleAnswers(rows, new Rng(5), model.tokenizer.eosId, 128, families);
    expect(Array.from(shuffleAnswers(rows, new Rng(5), model.tokenizer.eosId, 128, families).targets)).to.deep.equal(Array.from(a.targets));
  });

  it('refuses a pool where one family holds more than half, naming it', () => {
    const d = generateEmbedded({ seed: 4, trainSize: 5, testSize: 2, baseSize: 1, streamSize: 10, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
    const rows = padDocs(model.tokenizer, d.train.map((x) => formatQA(x.question, x.answer)));
    expect(() => shuffleAnswers(rows, new Rng(1), model.tokenizer.eosId, 128, ['a', 'a', 'a', 'b', 'c']))
      .to.throw("shuffled feedback from other families: family 'a' holds 3 of the 5 feedback problems, more than half");
  });
});
