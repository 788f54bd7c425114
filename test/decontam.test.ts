import { expect } from 'chai';
import { join } from 'node:path';
import { decontaminateStream, jaccard, shingles } from '../harness/data/decontam.js';
import { loadGsm8k } from '../harness/data/gsm8k.js';
import { loadMathProblems } from '../harness/data/sources.js';
import { generateEmbedded, DEFAULT_EMBEDDED } from '../harness/data/synth/embedded.js';
import { hasShared, SHARED } from './helpers.js';

const cfg = { ngram: 5, permutations: 128, bands: 32, threshold: 0.5 };

describe('decontamination (MinHash LSH + word n-gram Jaccard)', () => {
  it('computes word n-gram Jaccard by hand on a small case', () => {
    const a = shingles('the cat sat on the mat', 2);
    const b = shingles('the cat sat on a mat', 2);
    // bigrams: {the cat, cat sat, sat on, on the, the mat} vs {the cat, cat sat, sat on, on a, a mat}: 3 / 7
    expect(jaccard(a, b)).to.be.closeTo(3 / 7, 1e-12);
  });

  (hasShared ? it : it.skip)('removes an edited copy of a real GSM8K test item and keeps unrelated items', () => {
    const train = loadGsm8k(join(SHARED, 'gsm8k', 'train.jsonl'));
    const test = loadGsm8k(join(SHARED, 'gsm8k', 'test.jsonl'));
    const math = loadMathProblems(join(SHARED, 'math', 'math', 'test.jsonl'));
    const refs = [...train.map((t) => t.question), ...test.map((t) => t.question), ...math];
    const original = test[42]!.question;
    const words = original.split(' ');
    words[1] = 'really';
    words[words.length - 2] = 'exactly';
    const edited = words.join(' ');
    const unrelated = generateEmbedded({ ...DEFAULT_EMBEDDED, trainSize: 1, testSize: 1, baseSize: 1, streamSize: 50 }).cpt.map((r) => r.problem);
    const mathCopy = `Solve this: ${math[7]}`;
    const r = decontaminateStream([edited, ...unrelated, mathCopy], refs, cfg);
    expect(r.removed.has(0), `edited copy: ${edited}`).to.equal(true);
    expect(r.removed.has(unrelated.length + 1), 'MATH copy').to.equal(true);
    expect(r.removed.size).to.equal(2);
    expect(r.matches.get(0)!.jaccard).to.be.at.least(0.5).and.below(1);
  });

  it('finds the embedded stream\'s leaked test copies and nothing else', () => {
    const d = generateEmbedded({ ...DEFAULT_EMBEDDED, streamSize: 1500, leakFraction: 0.03 });
    const refs = [...d.train.map((t) => t.question), ...d.test.map((t) => t.question)];
    const r = decontaminateStream(d.cpt.map((x) => x.problem), refs, cfg);
    const leaked = d.cpt.map((x, i) => [x.source, i] as const).filter(([s]) => s === 'synthetic/leaked-test').map(([, i]) => i);
    expect(leaked.length).to.be.greaterThan(20);
    for (const i of leaked) expect(r.removed.has(i)).to.equal(true);
    // Templated problems share phrasing; anything else removed must really be a near-duplicate.
    for (const [i, m] of r.matches) if (!leaked.includes(i)) expect(m.jaccard).to.be.at.least(cfg.threshold);
  });

  it('rejects permutations that bands do not divide', () => {
    expect(() => decontaminateStream(['a'], ['a'], { ...cfg, bands: 30 })).to.throw(/multiple of decontamination.bands/);
  });
});
