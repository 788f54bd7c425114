import { expect } from 'chai';
import { parseGoldAnswer } from '../harness/data/gsm8k.js';
import { generateEmbedded, DEFAULT_EMBEDDED, ensureEmbedded } from '../harness/data/synth/embedded.js';
import { loadData } from '../harness/data/sources.js';
import { tmp } from './helpers.js';

/** Re-checks every "<<a op b=c>>" annotation by evaluating it. */
function annotationsCorrect(answer: string): boolean {
  return [...answer.matchAll(/<<(\d+)([-+*/])(\d+)=(-?\d+)>>/g)].every((m) => {
    const [a, op, b, c] = [Number(m[1]), m[2], Number(m[3]), Number(m[4])];
    const v = op === '+' ? a + b : op === '-' ? a - b : op === '*' ? a * b : a / b;
    return v === c;
  });
}

describe('embedded GSM8K-style data', () => {
  const cfg = { ...DEFAULT_EMBEDDED, trainSize: 300, testSize: 100, baseSize: 200, streamSize: 2000, corruptFraction: 0.25 };
  const d = generateEmbedded(cfg);

  it('writes GSM8K-format problems whose solutions are correct and end in "#### N"', () => {
    for (const item of [...d.train, ...d.test]) {
      expect(parseGoldAnswer(item.answer)).to.be.a('string');
      expect(annotationsCorrect(item.answer), item.answer).to.equal(true);
    }
  });

  it('keeps test problems out of the train split', () => {
    const test = new Set(d.test.map((t) => t.question));
    expect(d.train.filter((t) => test.has(t.question))).to.have.length(0);
  });

  it('puts the declared fraction of fluent but wrong solutions in the stream, with the error carried through', () => {
    const wrong = d.cpt.filter((r) => r.source.endsWith('/wrong'));
    const frac = wrong.length / d.cpt.length;
    expect(frac).to.be.within(0.2, 0.3);
    for (const r of wrong) {
      expect(annotationsCorrect(r.solution), r.solution).to.equal(false);
      expect(r.vpt_corrupt_spans!.length).to.be.greaterThan(0);
      // The final answer is inside a wrong span: the error propagated.
      const final = r.solution.lastIndexOf('#### ') + 5;
      expect(r.vpt_corrupt_spans!.some(([s]) => s === final)).to.equal(true);
    }
    for (const r of d.cpt.filter((x) => !x.source.endsWith('/wrong') && x.source !== 'synthetic/leaked-test')) {
      expect(annotationsCorrect(r.solution)).to.equal(true);
    }
  });

  it('mixes relevant and irrelevant families', () => {
    const fams = new Set(d.cpt.map((r) => r.source.split('/')[1]));
    expect(fams.has('sequence') || fams.has('weeks') || fams.has('perimeter')).to.equal(true);
    expect(fams.has('shopping')).to.equal(true);
  });

  it('is deterministic for a seed and goes through the real loaders', async () => {
    expect(generateEmbedded(cfg).cpt).to.deep.equal(d.cpt);
    const cache = tmp();
    ensureEmbedded(cfg, cache);
    const loaded = await loadData({ kind: 'embedded', ...cfg }, cache);
    expect(loaded.test).to.deep.equal(d.test);
    expect(loaded.cpt).to.have.length(cfg.streamSize);
    expect(Object.keys(loaded.hashes)).to.include.members(['gsm8kTrain', 'gsm8kTest', 'cptStream']);
  });
});
