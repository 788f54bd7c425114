import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { readResultsDir } from '../harness/report/read.js';
import { ablationTable, allTables, costTable, diagnosticsTable, mainTable } from '../harness/report/tables.js';
import { toMarkdown } from '../harness/report/markdown.js';
import { toCsv } from '../harness/report/csv.js';
import { texEscape, toLatex, wrapText } from '../harness/report/latex.js';
import { MAX_COLUMNS } from '../harness/report/model.js';
import { GOLDEN_DIR, goldenOutputs } from './golden/outputs.js';
import { tmp } from './helpers.js';
import { LM_SUITE, lmCells, writeLmResults, writeResults, writeVisionResults } from './report-fixtures.js';

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
    // self-distill has seeds 1 and 2 only: it pairs on those, too few for an interval.
    const sd = t.rows.find((r) => r.id === 'self-distill')?.cells['d:pass@1,strict-match'];
    expect(sd?.kind === 'delta' && sd.diff.n).to.equal(2);
    expect(sd?.kind === 'delta' && sd.interval).to.equal(undefined);
  });

  it('fewer than 3 paired seeds: the cell says "n = 2" (or 1) instead of an interval, against the baseline of its own stream', () => {
    const md = toMarkdown(mainTable(lm));
    // v-pretraining+decontam seed 1 (0.25) against baseline+decontam seed 1 (0.19).
    expect(md).to.contain('| v-pretraining+decontam (2 failed) | 25.0 | +6.0 (n = 1) |');
    // self-distill: seeds 1 and 2 pair (+0.03, +0.02).
    expect(md).to.contain('| self-distill (1 failed) | 23.5 ± 0.7 | +2.5 (n = 2) |');
    expect(toLatex(mainTable(lm))).to.contain('{\\scriptsize $+2.5$ (n = 2)}');
  });

  it('differences without spread: no zero-width interval, however many seeds pair', () => {
    // Every seed of v-pretraining exactly one point above the baseline: "+1.0 [+1.0, +1.0]" would read as certainty.
    const cells = lmCells().map((c) => {
      if (c.armId !== 'v-pretraining' || !c.metrics) return c;
      const base = lmCells().find((b) => b.armId === 'baseline' && b.seed === c.seed)?.metrics?.['pass@1,strict-match']?.value as number;
      return { ...c, metrics: { ...c.metrics, 'pass@1,strict-match': { value: base + 0.01, stderr: 0.04, n: 100 } } };
    });
    const dir = tmp('vpt-tables-equal-');
    writeResults(dir, LM_SUITE, cells);
    const t = mainTable(readResultsDir(dir));
    const v = t.rows.find((r) => r.id === 'v-pretraining')?.cells['d:pass@1,strict-match'];
    expect(v?.kind === 'delta' && v.withheld).to.equal('n = 3, no spread');
    expect(toMarkdown(t)).to.match(/\| v-pretraining \| [^|]+ \| \+1\.0 \(n = 3, no spread\) \|/);
    expect(toCsv(t)).to.not.match(/v-pretraining,v-pretraining,d:pass@1,strict-match,.*,0\.01,0\.01,/);
  });

  it('every table has at most 8 columns, the row labels included (fixtures of both tasks)', () => {
    const vision = tmp('vpt-tables-vision-width-');
    writeVisionResults(vision);
    for (const t of [...allTables(lm), ...allTables(readResultsDir(vision))]) expect(t.columns.length + 1, t.name).to.be.at.most(MAX_COLUMNS);
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

  it('ablation table: arms down, one metric (the headline one), the decontaminated stream beside the standard one', () => {
    const t = ablationTable(lm);
    expect(t.rows.map((r) => r.label)).to.deep.equal(['Baseline', 'V-pretraining', 'Random feedback', 'Uniform top-K', 'Self-distillation']);
    expect(t.columns.map((c) => [c.group, c.source])).to.deep.equal([['standard stream', 'pass@1,strict-match'], ['decontaminated stream', 'pass@1,strict-match']]);
    const v = t.rows[1]?.cells['decontaminated:m'];
    expect(v?.kind === 'stat' && v.stat.mean).to.equal(0.25);
  });

  it('cost table: tokens/s as a multiple of the baseline\'s, learner updates, columns only for what cells recorded', () => {
    const t = costTable(lm);
    const r = t.rows.find((x) => x.id === 'v-pretraining')?.cells['r:tokensPerSecond'];
    const base = [1, 2, 3].map((s) => Math.round(15360 / (1 + s / 100)));
    const v = [1, 2, 3].map((s) => Math.round(15360 / (1.3 + s / 100)));
    const mean = (xs: number[]): number => xs.reduce((a, b) => a + b, 0) / xs.length;
    expect(r?.kind === 'ratio' && r.ratio).to.be.closeTo(mean(v) / mean(base), 1e-12);
    expect(toMarkdown(t)).to.contain(`| ${(mean(v) / mean(base)).toFixed(2)}× |`);
    // Seven candidates fit: ms per step (tokens per step ÷ tokens/s) and RSS's multiple are named, not shown.
    expect(t.columns.map((c) => c.key)).to.deep.equal(['c:tokensPerSecond', 'r:tokensPerSecond', 'c:meta_share_of_time', 'c:tfPeakBytes', 'r:tfPeakBytes', 'c:rssPeakBytes', 'c:steps']);
    expect(t.caption).to.contain('Not shown here (page width): ms per learner step, peak RSS (MiB) × baseline');
    const vision = tmp('vpt-tables-vision-');
    writeVisionResults(vision);
    const vt = costTable(readResultsDir(vision));
    expect(vt.columns.map((c) => c.source)).to.deep.equal(['msPerStep', 'steps']);
  });

  it('columns come from the cells’ metric keys (a vision task brings its own), headline metrics in main, the rest after', () => {
    const vision = tmp('vpt-tables-vision2-');
    writeVisionResults(vision);
    const [main, more] = allTables(readResultsDir(vision));
    expect(main?.columns.filter((c) => c.key.startsWith('m:')).map((c) => [c.source, c.higherIsBetter])).to.deep.equal([
      ['miou,none', true], ['rmse,none', false], ['top1,none', true],
    ]);
    expect(more?.name).to.equal('more-metrics');
    expect(more?.columns.filter((c) => c.key.startsWith('m:')).map((c) => c.source)).to.deep.equal(['pixel_acc,none', 'absrel,none', 'delta1,none']);
  });

  it('diagnostics table: the designer\'s numbers and token efficiency, apart, arms with nothing to show left out', () => {
    const t = diagnosticsTable(lm);
    expect(t.section).to.equal('diagnostics');
    expect(t.columns.map((c) => c.label)).to.deep.equal(['mean V', 'probe r (real step)', 'baseline steps to same val. NLL', 'mean α']);
    expect(t.rows.map((r) => r.id)).to.deep.equal(['v-pretraining', 'random-feedback', 'uniform-topk', 'self-distill', 'v-pretraining+decontam']);
    expect(t.caption).to.contain('left out (baseline, baseline+decontam)');
    // None of the compact tables carries a diagnostic.
    for (const c of allTables(lm).filter((x) => x.section === 'compact')) expect(c.columns.some((col) => col.key.startsWith('x:') || col.key.startsWith('e:')), c.name).to.equal(false);
  });

  it('LaTeX breaks long headers and labels at spaces or before a "+", never leaves an arrow alone', () => {
    expect(wrapText('v-pretraining+decontam', 18)).to.deep.equal(['v-pretraining', '+decontam']);
    expect(wrapText('peak RSS (MiB) ↓', 14)).to.deep.equal(['peak RSS (MiB) ↓']);
    expect(wrapText('baseline steps to same val. NLL', 14)).to.deep.equal(['baseline steps', 'to same val.', 'NLL']);
  });

  it('escapes LaTeX specials in names', () => {
    expect(texEscape('a_b & 50% #1 {x} ~ ^ \\')).to.equal('a\\_b \\& 50\\% \\#1 \\{x\\} \\textasciitilde{} \\textasciicircum{} \\textbackslash{}');
  });
});
