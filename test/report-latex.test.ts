/**
 * The LaTeX tables compile and fit a page: scripts/check-latex.ts (what .ci/run runs) compiles every published
 * table and every golden table with pdflatex at a paper's text width and passes; the same check fails, naming
 * the file, on a deliberately over-wide table (the old 17-column main table's shape). Needs pdflatex with
 * booktabs (Debian's texlive-latex-base and texlive-latex-recommended; .ci/run installs them).
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { toLatex } from '../harness/report/latex.js';
import { checkLatex, haveLatex, texFiles } from '../harness/report/latex-check.js';
import type { TableColumn, TableModel } from '../harness/report/model.js';
import { readResultsDir } from '../harness/report/read.js';
import { baselineResultSet, readBaseline } from '../harness/regress/baseline.js';
import { acrossTable } from '../harness/report/table-across.js';
import { allTables } from '../harness/report/tables.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { describe as stat } from '../harness/stats.js';
import { tmp } from './helpers.js';
import { writeLmResults, writeVisionResults } from './report-fixtures.js';

const checkScript = (args: string[]) => execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'scripts', 'check-latex.ts'), ...args], { reject: false, cwd: REPO_ROOT });

/** A table in the shape the main table had before: every metric with its Δ, every diagnostic, 16 columns. */
function overWide(): TableModel {
  const columns: TableColumn[] = Array.from({ length: 16 }, (_, i) => ({
    key: `c${i}`, label: `diagnostic number ${i} (real step)`, source: `c${i}`, ranked: false, display: { label: `c${i}`, scale: 1, digits: 4 },
  }));
  const cells = Object.fromEntries(columns.map((c) => [c.key, { kind: 'stat' as const, stat: stat([0.0425, 0.0101]), seeds: { 1: 0.0425, 2: 0.0101 }, best: false }]));
  return {
    name: 'too-wide', section: 'compact', suite: 'demo', title: 'demo: a table no page holds', caption: 'Sixteen columns of mean ± sd.', rowHeader: 'arm',
    columns, rows: [{ id: 'v-pretraining+decontam', label: 'v-pretraining+decontam', failed: 0, cells }], seeds: [1, 2],
    footer: { harnessVersion: '9.9.9', gitSha: 'abc', configHash: 'cfg', backend: 'wasm' },
  };
}

describe('LaTeX tables compile and fit a page (pdflatex)', function () {
  before(function () {
    if (!haveLatex()) throw new Error('pdflatex with booktabs missing: .ci/run installs it (apt-get install texlive-latex-base texlive-latex-recommended)');
  });

  it('the check .ci/run runs passes on every published and golden table', async () => {
    const files = texFiles([join(REPO_ROOT, 'reports'), join(REPO_ROOT, 'test', 'golden', 'report')]);
    expect(files.map((f) => f.replace(`${REPO_ROOT}/`, ''))).to.include.members(['reports/quick/main.tex', 'reports/quick/diagnostics.tex', 'test/golden/report/fixture-vision/more-metrics.tex']);
    const r = await checkScript([]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain(`${files.length} LaTeX tables at text width 5.5in: all compile and fit`);
  });

  it('fails on a deliberately over-wide table, naming the file and the overfull box', async () => {
    const dir = tmp('vpt-latex-wide-');
    const file = join(dir, 'too-wide.tex');
    writeFileSync(file, toLatex(overWide()));
    const r = await checkScript([dir]);
    expect(r.exitCode).to.equal(1);
    expect(r.stderr).to.match(/too-wide\.tex: Overfull \\hbox \([\d.]+pt too wide\)/);
    expect(r.stdout).to.contain('1 LaTeX tables at text width 5.5in: 1 problem(s)');
  });

  it('every table of both fixtures, and both tables across them and the quick baseline, compiles and fits', () => {
    const dir = tmp('vpt-latex-all-');
    const lm = join(dir, 'lm');
    const vision = join(dir, 'vision');
    writeLmResults(lm);
    writeVisionResults(vision);
    const sets = [readResultsDir(lm), readResultsDir(vision)];
    const quick = baselineResultSet(readBaseline(join(REPO_ROOT, 'baselines', 'quick.json')), 'baselines/quick.json');
    const across = [quick, ...sets];
    const tables = [...sets.flatMap(allTables), acrossTable(across, 'model-by-method'), acrossTable(across, 'method-by-metric')];
    const files = tables.map((t, i) => {
      const f = join(dir, `${i}-${t.suite}-${t.name}.tex`);
      writeFileSync(f, toLatex(t));
      return f;
    });
    const r = checkLatex(files);
    expect(r.problems, r.problems.map((p) => `${p.file}: ${p.what}`).join('\n')).to.deep.equal([]);
  });
});
