import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResultsDir } from '../harness/report/read.js';
import { ablationTable, costTable, mainTable } from '../harness/report/tables.js';
import { toMarkdown } from '../harness/report/markdown.js';
import { texEscape } from '../harness/report/latex.js';
import { GOLDEN_DIR, goldenOutputs } from './golden/outputs.js';
import { tmp } from './helpers.js';
import { writeLmResults, writeVisionResults } from './report-fixtures.js';

describe('report tables', () => {
  const lmDir = tmp('vpt-tables-');
  writeLmResults(lmDir);
  const lm = readResultsDir(lmDir);

  describe('golden files (rewrite deliberately with npx tsx test/golden/update.ts)', () => {
    for (const [name, text] of goldenOutputs()) {
      it(`${name} matches its golden file`, () => {
        expect(text).to.equal(readFileSync(join(GOLDEN_DIR, name), 'utf8'));
      });
    }
  });

  it('main table: paired 95% t interval by seed, worked by hand', () => {
    const t = mainTable(lm);
    const v = t.rows.find((r) => r.id === 'v-pretraining')?.cells['d:pass@1,strict-match'];
    // Per-seed differences 0.06, 0.05, 0.06: mean 0.056667, sd 0.0057735, se 0.0033333, t(0.975, 2) = 4.302653.
    expect(v?.kind).to.equal('delta');
    if (v?.kind !== 'delta') return;
    expect(v.seeds).to.deep.equal({ 1: 0.26 - 0.2, 2: 0.27 - 0.22, 3: 0.24 - 0.18 });
    expect(v.interval?.lo).to.be.closeTo(0.0566667 - 4.302653 * 0.0033333, 1e-6);
    expect(v.interval?.hi).to.be.closeTo(0.0566667 + 4.302653 * 0.0033333, 1e-6);
    // self-distill has seeds 1 and 2 only: it pairs on those (df 1).
    const sd = t.rows.find((r) => r.id === 'self-distill')?.cells['d:pass@1,strict-match'];
    expect(sd?.kind === 'delta' && sd.diff.n).to.equal(2);
  });

  it('an arm with one completed seed says "n too small" instead of an interval, against the baseline of its own stream', () => {
    const md = toMarkdown(mainTable(lm));
    // v-pretraining+decontam seed 1 (0.25) against baseline+decontam seed 1 (0.19).
    expect(md).to.contain('| v-pretraining+decontam (2 failed) | 25.0 | +6.0 n too small |');
  });

  it('bolds the best mean per column by direction, rows in declared order', () => {
    const md = toMarkdown(mainTable(lm));
    const rows = md.split('\n').filter((l) => l.startsWith('| ') && !l.startsWith('| arm') && !l.startsWith('| ---'));
    expect(rows.map((r) => r.split(' | ')[0]?.slice(2))).to.deep.equal([
      'baseline', 'v-pretraining', 'random-feedback', 'uniform-topk', 'self-distill (1 failed)', 'baseline+decontam', 'v-pretraining+decontam (2 failed)',
    ]);
    expect(md).to.contain('| **25.7 ± 1.5** |');
    // answer NLL is lower-is-better: v-pretraining's 1.417 is the best.
    expect(md).to.contain('| **1.417 ± 0.021** |');
  });

  it('ablation table puts the decontaminated stream beside the standard one', () => {
    const t = ablationTable(lm);
    expect(t.rows.map((r) => r.label)).to.deep.equal(['Baseline', 'V-pretraining', 'Random feedback', 'Uniform top-K', 'Self-distillation']);
    expect([...new Set(t.columns.map((c) => c.group))]).to.deep.equal(['standard stream', 'decontaminated stream']);
    const v = t.rows[1]?.cells['decontaminated:pass@1,strict-match'];
    expect(v?.kind === 'stat' && v.stat.mean).to.equal(0.25);
  });

  it('cost table: tokens/s change against the baseline and columns only for what cells recorded', () => {
    const t = costTable(lm);
    const r = t.rows.find((x) => x.id === 'v-pretraining')?.cells['r:tokensPerSecond'];
    const base = [1, 2, 3].map((s) => Math.round(15360 / (1 + s / 100)));
    const v = [1, 2, 3].map((s) => Math.round(15360 / (1.3 + s / 100)));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(r?.kind === 'ratio' && r.change).to.be.closeTo(mean(v) / mean(base) - 1, 1e-12);
    const vision = tmp('vpt-tables-vision-');
    writeVisionResults(vision);
    const vt = costTable(readResultsDir(vision));
    expect(vt.columns.map((c) => c.source)).to.deep.equal(['msPerStep']);
  });

  it('columns come from the cells’ metric keys (a vision task brings its own)', () => {
    const vision = tmp('vpt-tables-vision2-');
    writeVisionResults(vision);
    const t = mainTable(readResultsDir(vision));
    expect(t.columns.filter((c) => c.key.startsWith('m:')).map((c) => [c.source, c.higherIsBetter])).to.deep.equal([
      ['miou,none', true], ['rmse,none', false], ['top1,none', true],
    ]);
  });

  it('escapes LaTeX specials in names', () => {
    expect(texEscape('a_b & 50% #1 {x} ~ ^ \\')).to.equal('a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}');
  });
});
