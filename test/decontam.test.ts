import { expect } from 'chai';
import { join } from 'node:path';
import { decontaminateStream, decontamReferences, decontamReport, jaccard, shingles } from '../harness/language/data/decontam.js';
import { loadGsm8k } from '../harness/language/data/gsm8k.js';
import { loadMathProblems } from '../harness/language/data/sources.js';
import { generateEmbedded, DEFAULT_EMBEDDED } from '../harness/language/data/synth/embedded.js';
import { DecontamSchema } from '../harness/language/schema.js';
import { sharedData } from './helpers.js';

const cfg = DecontamSchema.parse({});

describe('decontamination (MinHash LSH + word n-gram Jaccard)', () => {
  it('computes word n-gram Jaccard by hand on a small case', () => {
    const a = shingles('the cat sat on the mat', 2);
    const b = shingles('the cat sat on a mat', 2);
    // bigrams: {the cat, cat sat, sat on, on the, the mat} vs {the cat, cat sat, sat on, on a, a mat}: 3 / 7
    expect(jaccard(a, b)).to.be.closeTo(3 / 7, 1e-12);
  });

  it('with the default settings removes edited copies of real GSM8K and MATH test items and keeps unrelated items', function () {
    const SHARED = sharedData(this, 'gsm8k/test.jsonl', 'gsm8k/train.jsonl', 'math/math/test.jsonl');
    const test = loadGsm8k(join(SHARED, 'gsm8k', 'test.jsonl'));
    const train = loadGsm8k(join(SHARED, 'gsm8k', 'train.jsonl'));
    const math = loadMathProblems(join(SHARED, 'math', 'math', 'test.jsonl'));
    const refs = decontamReferences({ test, train, mathTest: math }, cfg);
    const original = test[42]!.question;
    const words = original.split(' ');
    words[1] = 'really';
    words[words.length - 2] = 'exactly';
    const edited = words.join(' ');
    // GSM8K train line 21 (Bella's stamps) is a known near-duplicate of test line 633 (Max's): the screen must find it.
    const bella = train[20]!.question;
    expect(bella).to.match(/^Bella bought stamps/);
    const unrelated = [
      ...train.slice(0, 200).filter((t) => t.question !== bella).map((t) => t.question),
      ...generateEmbedded({ ...DEFAULT_EMBEDDED, trainSize: 1, testSize: 1, baseSize: 1, streamSize: 50 }).cpt.map((r) => r.problem),
    ];
    const mathCopy = `Solve this: ${math[7]}`;
    const r = decontaminateStream([edited, ...unrelated, mathCopy, bella], refs, cfg);
    expect(r.removed.has(0), `edited copy: ${edited}`).to.equal(true);
    expect(r.removed.has(unrelated.length + 1), 'MATH copy').to.equal(true);
    expect(r.removed.has(unrelated.length + 2), 'known train/test near-duplicate').to.equal(true);
    expect(refs[r.matches.get(unrelated.length + 2)!.ref]).to.match(/^Max bought stamps/);
    expect(r.removed.size).to.equal(3);
    expect(r.matches.get(0)!.jaccard).to.be.at.least(cfg.threshold).and.below(1);
  });

  it('screens against the evaluation sets by default and adds GSM8K train on request', () => {
    const data = { test: [{ question: 't1' }], train: [{ question: 'r1' }, { question: 'r2' }], mathTest: ['m1'] };
    expect(decontamReferences(data, cfg)).to.deep.equal(['t1', 'm1']);
    expect(decontamReferences(data, { screenTrain: true })).to.deep.equal(['t1', 'm1', 'r1', 'r2']);
  });

  it('scores a removal against leak labels: a hand-worked case', () => {
    const rows = [{ vpt_leak_kind: 'verbatim' }, {}, { vpt_leak_kind: 'names' }, {}, { vpt_leak_kind: 'names' }, { vpt_leak_kind: 'numbers' }, {}];
    const rep = decontamReport(new Set([0, 1, 2]), rows);
    // Removed {0, 1, 2}: leaks 0 and 2 caught, row 1 is not a leak; leaks 4 (names) and 5 (numbers) kept.
    expect(rep).to.deep.equal({
      screened: 7, removed: 3, removedFraction: 3 / 7, labelled: true, falsePositives: 1, precision: 2 / 3, recall: 2 / 4,
      byKind: { verbatim: { leaks: 1, caught: 1, recall: 1 }, names: { leaks: 2, caught: 1, recall: 0.5 }, numbers: { leaks: 1, caught: 0, recall: 0 } },
    });
    expect(decontamReport([], rows).precision).to.equal(null);
    const unlabelled = decontamReport([1], [{}, {}]);
    expect([unlabelled.labelled, unlabelled.precision, unlabelled.recall]).to.deep.equal([false, null, null]);
    expect(() => decontamReport([7], rows)).to.throw(/removed index 7 is outside the stream of 7 rows/);
  });

  it('on a small generated stream, precision and recall by kind agree with a count by hand', () => {
    const d = generateEmbedded({ ...DEFAULT_EMBEDDED, trainSize: 50, testSize: 60, baseSize: 1, streamSize: 500, leakFraction: 0.12 });
    const r = decontaminateStream(d.cpt.map((x) => x.problem), decontamReferences({ ...d, mathTest: [] }, cfg), cfg);
    const rep = decontamReport(r.removed, d.cpt);
    // The count by hand: leaked rows are the ones whose source says so, their kind is the label.
    const count: Record<string, [number, number]> = {};
    let leaks = 0, caught = 0, others = 0;
    d.cpt.forEach((row, i) => {
      if (row.source !== 'synthetic/leaked-test') {
        if (r.removed.has(i)) others++;
        return;
      }
      count[row.vpt_leak_kind!] ??= [0, 0];
      const c = count[row.vpt_leak_kind!] as [number, number];
      c[0]++;
      leaks++;
      if (r.removed.has(i)) {
        c[1]++;
        caught++;
      }
    });
    expect(leaks).to.be.greaterThan(40);
    expect(rep.precision).to.equal(caught / (caught + others));
    expect(rep.recall).to.equal(caught / leaks);
    expect(rep.falsePositives).to.equal(others);
    for (const [kind, [n, k]] of Object.entries(count)) expect(rep.byKind[kind], kind).to.deep.equal({ leaks: n, caught: k, recall: k / n });
    // What the defaults were chosen for: unedited and prefixed or reordered copies all go, few non-leaks do.
    for (const kind of ['verbatim', 'prefix', 'reorder']) expect(rep.byKind[kind]!.recall, kind).to.equal(1);
    expect(others / (d.cpt.length - leaks)).to.be.below(0.03);
  });

  it('no longer removes same-template problems in large numbers', () => {
    const d = generateEmbedded({ ...DEFAULT_EMBEDDED, baseSize: 1, trainSize: 1, streamSize: 3000, leakFraction: 0 });
    const r = decontaminateStream(d.cpt.map((x) => x.problem), decontamReferences({ ...d, mathTest: [] }, cfg), cfg);
    expect(r.removed.size / d.cpt.length).to.be.below(0.02);
  });

  it('rejects permutations that bands do not divide', () => {
    expect(() => decontaminateStream(['a'], ['a'], { ...cfg, bands: 30 })).to.throw(/multiple of decontamination.bands/);
  });
});
