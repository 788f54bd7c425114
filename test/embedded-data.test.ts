import { expect } from 'chai';
import { parseGoldAnswer } from '../harness/language/data/gsm8k.js';
import { generateEmbedded, DEFAULT_EMBEDDED, ensureEmbedded, noiseRate, resolveEmbedded } from '../harness/language/data/synth/embedded.js';
import { FAMILIES, WORDS } from '../harness/language/data/synth/families.js';
import { LEAK_KINDS, sentences } from '../harness/language/data/synth/leaks.js';
import { loadData, rowToDoc } from '../harness/language/data/sources.js';
import { encodeDoc, packDocs } from '../harness/language/data/pack.js';
import { Tokenizer } from '../harness/language/model/tokenizer.js';
import type { NuminaRow } from '../harness/language/data/numina.js';
import { tmp } from './helpers.js';

type Calc = { a: number; op: string; b: number; c: number; at: number; opAt: number };

/** Every "a op b = <<a op b=c>>c" calculation in a solution, with where its result and its first operator sit. */
function calcs(answer: string): Calc[] {
  return [...answer.matchAll(/(\d+)([-+*/])(\d+) = <<\d+[-+*/]\d+=(-?\d+)>>/g)].map((m) => ({
    a: Number(m[1]), op: m[2] as string, b: Number(m[3]), c: Number(m[4]),
    at: (m.index as number) + m[0].length - m[4]!.length - 2, opAt: (m.index as number) + m[1]!.length,
  }));
}
const value = (x: Calc): number => (x.op === '+' ? x.a + x.b : x.op === '-' ? x.a - x.b : x.op === '*' ? x.a * x.b : x.a / x.b);
const family = (r: NuminaRow): string => r.source.split('/')[1] as string;
const words = (t: string): string[] => t.match(/[A-Za-z]+/g) ?? [];
const numbers = (t: string): string[] => t.match(/\d+/g) ?? [];

describe('embedded GSM8K-style data', () => {
  const cfg = { ...DEFAULT_EMBEDDED, trainSize: 300, testSize: 100, baseSize: 300, streamSize: 3000, corruptFraction: 0.25, leakFraction: 0.05 };
  const d = generateEmbedded(cfg);
  const clean = generateEmbedded({ ...cfg, corruptFraction: 0 });

  it('writes GSM8K-format problems whose solutions are correct and end in "#### N"', () => {
    for (const item of [...d.train, ...d.test]) {
      expect(parseGoldAnswer(item.answer)).to.be.a('string');
      for (const x of calcs(item.answer)) expect(x.c, item.answer).to.equal(value(x));
    }
  });

  it('keeps test problems out of the train split, the base stream, and the stream except as labelled leaks', () => {
    const test = new Set(d.test.map((t) => t.question));
    expect(d.train.filter((t) => test.has(t.question))).to.have.length(0);
    expect(d.base.filter((r) => test.has(r.problem))).to.have.length(0);
    for (const r of d.cpt.filter((x) => test.has(x.problem))) expect(r.vpt_leak_kind).to.equal('verbatim');
  });

  it('rule noise: the declared fraction of wrong solutions, all in the noisy families, each applying its family\'s wrong rule', () => {
    const wrong = d.cpt.filter((r) => r.source.endsWith('/wrong'));
    expect(wrong.length / d.cpt.length).to.be.within(0.22, 0.28);
    const noisy = new Set(resolveEmbedded(cfg).noisyFamilies);
    const rate = noiseRate(resolveEmbedded(cfg));
    for (const name of noisy) {
      const fam = d.cpt.filter((r) => family(r) === name && !r.vpt_leak_kind);
      expect(fam.filter((r) => r.source.endsWith('/wrong')).length / fam.length, name).to.be.closeTo(rate, 0.06);
    }
    for (const r of wrong) {
      const fam = FAMILIES.find((f) => f.name === family(r))!;
      expect(noisy.has(fam.name)).to.equal(true);
      const steps = calcs(r.solution);
      const bad = steps[fam.wrongRule!.step]!;
      // The step uses the wrong operation, computed correctly: every later value follows from it.
      expect(bad.op).to.equal(fam.wrongRule!.op);
      for (const x of steps) expect(x.c, r.solution).to.equal(value(x));
      // Exactly the wrong operator is marked: the one token a learner would learn the wrong rule from.
      expect(r.vpt_corrupt_spans).to.deep.equal([[bad.opAt, bad.opAt + 1]]);
      expect(r.solution.slice(bad.opAt, bad.opAt + 1)).to.equal(fam.wrongRule!.op);
    }
  });

  it('the packed wrong flags sit on exactly the wrong operator tokens (what the trainer and the oracle read)', () => {
    const tok = Tokenizer.build(d.base.map((r) => { const f = rowToDoc(r); return f.prompt + f.answer; }), { maxPieces: 512 });
    const wrong = d.cpt.filter((r) => r.source.endsWith('/wrong'));
    for (const r of wrong.slice(0, 200)) {
      const e = encodeDoc(tok, rowToDoc(r));
      const op = FAMILIES.find((f) => f.name === family(r))!.wrongRule!.op;
      expect(e.ids.filter((_, i) => e.wrong[i] === 1).map((id) => tok.decode([id])), r.solution).to.deep.equal([op]);
    }
    const rows = packDocs(tok, d.cpt.map(rowToDoc), 96);
    const flagged = rows.wrong.reduce((a, b) => a + b, 0);
    // One flag per wrong document, less the few cut off after the last full row.
    expect(flagged).to.be.within(wrong.length - 3, wrong.length);
  });

  it('clean and noisy streams hold the same problems and leaks: only the wrong solutions differ', () => {
    expect(clean.cpt.map((r) => r.problem)).to.deep.equal(d.cpt.map((r) => r.problem));
    expect(clean.cpt.filter((r) => r.vpt_corrupt_spans)).to.have.length(0);
    d.cpt.forEach((r, i) => {
      if (!r.source.endsWith('/wrong')) expect(r).to.deep.equal(clean.cpt[i]);
      else expect(r.solution).to.not.equal(clean.cpt[i]!.solution);
    });
    expect(clean.base).to.deep.equal(d.base);
    expect(clean.test).to.deep.equal(d.test);
    expect(clean.train).to.deep.equal(d.train);
  });

  it('slip noise: one result off by a small amount, marked where it first appears', () => {
    const s = generateEmbedded({ ...cfg, streamSize: 600, noise: 'slip', corruptFraction: 0.3 });
    const wrong = s.cpt.filter((r) => r.source.endsWith('/wrong'));
    expect(wrong.length / s.cpt.length).to.be.within(0.22, 0.38);
    for (const r of wrong) {
      const off = calcs(r.solution).filter((x) => x.c !== value(x));
      expect(off, r.solution).to.have.length(1);
      const x = off[0]!;
      expect(Math.abs(x.c - value(x))).to.be.within(1, 6);
      expect(r.vpt_corrupt_spans).to.deep.equal([[x.at, x.at + String(x.c).length]]);
    }
  });

  it('labels leaked test copies with their kind, and every kind is what its label says', () => {
    const leaks = d.cpt.filter((r) => r.vpt_leak_kind);
    expect(leaks.every((r) => r.source === 'synthetic/leaked-test' && !r.vpt_corrupt_spans)).to.equal(true);
    expect(new Set(leaks.map((r) => r.vpt_leak_kind))).to.have.keys([...LEAK_KINDS]);
    for (const r of leaks) {
      const orig = d.test[r.vpt_leak_test!]!.question;
      const edits = new Set(r.vpt_leak_kind!.split('+'));
      const origNames = words(orig).filter((w) => /^[A-Z]/.test(w));
      if (r.vpt_leak_kind === 'verbatim') expect(r.problem).to.equal(orig);
      if (edits.has('prefix')) expect(r.problem.length).to.be.greaterThan(orig.length);
      if (r.vpt_leak_kind === 'reorder') expect(r.problem).to.not.equal(orig);
      if (!edits.has('numbers')) expect(numbers(r.problem).sort()).to.deep.equal(numbers(orig).sort());
      else expect(numbers(r.problem).sort()).to.not.deep.equal(numbers(orig).sort());
      const name = origNames.find((w) => WORDS.name.includes(w))!;
      expect(r.problem.includes(name), `${r.vpt_leak_kind}: ${r.problem}`).to.equal(!edits.has('names'));
      if (!edits.has('prefix') && !edits.has('names') && !edits.has('numbers')) {
        expect([...sentences(r.problem)].sort()).to.deep.equal([...sentences(orig)].sort());
      }
      // A leak of a correct test problem carries a correct solution.
      for (const x of calcs(r.solution)) expect(x.c).to.equal(value(x));
    }
  });

  it('rejects noise settings it cannot honour, naming the key', () => {
    expect(() => generateEmbedded({ ...cfg, corruptFraction: 0.5 })).to.throw(/data.corruptFraction/);
    expect(() => generateEmbedded({ ...cfg, corruptFraction: 0.1, noisyFamilies: ['weeks'] })).to.throw(/data.noisyFamilies: 'weeks'/);
    expect(() => generateEmbedded({ ...cfg, corruptFraction: 0.1, noisyFamilies: ['nope'] })).to.throw(/unknown problem family 'nope'/);
  });

  it('mixes relevant and irrelevant families', () => {
    const fams = new Set(d.cpt.map(family));
    for (const f of FAMILIES) expect(fams.has(f.name), f.name).to.equal(true);
  });

  it('is deterministic for a seed and goes through the real loaders with its labels', async () => {
    expect(generateEmbedded(cfg).cpt).to.deep.equal(d.cpt);
    const cache = tmp();
    const small = { ...cfg, streamSize: 400 };
    ensureEmbedded(small, cache);
    const loaded = await loadData({ kind: 'embedded', ...resolveEmbedded(small) }, cache);
    const want = generateEmbedded(small);
    expect(loaded.test).to.deep.equal(want.test);
    expect(loaded.cptRows).to.deep.equal(want.cpt);
    expect(Object.keys(loaded.hashes)).to.include.members(['gsm8kTrain', 'gsm8kTest', 'cptStream']);
  });
});
