/**
 * Tables across several results folders, in the paper's shapes: Table 1 (models down, methods across, one
 * metric) and the vision table (model × method down, metrics across). A suite's model is named by its suite
 * name and the shape its recorded `model` gives.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { toMarkdown } from '../harness/report/markdown.js';
import { MAX_COLUMNS } from '../harness/report/model.js';
import { readResultsDir } from '../harness/report/read.js';
import { acrossTable, modelLabels } from '../harness/report/table-across.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp } from './helpers.js';
import { LM_SUITE, lmCells, VISION_SUITE, visionCells, writeResults, type FixtureCell } from './report-fixtures.js';

const vpt = (args: string[]) => execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), ...args], { reject: false, cwd: REPO_ROOT, env: { CI: '1' } });

/** Fixture cells with every metric value moved by `by`. */
function shifted(cells: FixtureCell[], by: number): FixtureCell[] {
  return cells.map((c) => (c.metrics ? { ...c, metrics: Object.fromEntries(Object.entries(c.metrics).map(([k, m]) => [k, { ...m, value: m.value + by }])) } : c));
}

describe('tables across suites', () => {
  const root = tmp('vpt-across-');
  const small = join(root, 'lm-small');
  const wide = join(root, 'lm-wide');
  writeResults(small, { ...LM_SUITE, name: 'lm-small', model: { nLayer: 2, nHead: 4, nEmbd: 128 } }, lmCells());
  writeResults(wide, { ...LM_SUITE, name: 'lm-wide', model: { nLayer: 4, nHead: 8, nEmbd: 256 } }, shifted(lmCells(), 0.05));
  const vitS = join(root, 'vit-s');
  const vitB = join(root, 'vit-b');
  writeResults(vitS, { ...VISION_SUITE, name: 'vision-s', model: { imageSize: 32, patchSize: 4, width: 64, depth: 4 } }, visionCells());
  writeResults(vitB, { ...VISION_SUITE, name: 'vision-b', model: { imageSize: 32, patchSize: 4, width: 192, depth: 8 } }, shifted(visionCells(), 0.01));

  it('model-by-method (Table 1): a row per suite named by its model shape, standard-stream arms across, mean ± sd, best per row', () => {
    const t = acrossTable([readResultsDir(small), readResultsDir(wide)], 'model-by-method');
    expect(t.rows.map((r) => r.label)).to.deep.equal(['lm-small (2L × 128)', 'lm-wide (4L × 256)']);
    expect(t.columns.map((c) => c.label)).to.deep.equal(['Baseline', 'V-pretraining', 'Random feedback', 'Uniform top-K', 'Self-distillation']);
    const md = toMarkdown(t);
    expect(md).to.contain('### Pass@1 strict (%) ↑ by model and method');
    expect(md).to.contain('| lm-small (2L × 128) (1 failed) | 20.0 ± 2.0 | **25.7 ± 1.5** | 18.7 ± 1.5 | 20.0 ± 1.0 | 23.5 ± 0.7 |');
    expect(md).to.contain('| lm-wide (4L × 256) (1 failed) | 25.0 ± 2.0 | **30.7 ± 1.5** |');
  });

  it('model-by-method: --arms picks and orders the methods; more than fit a page are named, not dropped silently', () => {
    const sets = [readResultsDir(small), readResultsDir(wide)];
    const picked = acrossTable(sets, 'model-by-method', { arms: ['v-pretraining', 'baseline'], metrics: ['answer_nll,none'] });
    expect(picked.columns.map((c) => c.label)).to.deep.equal(['V-pretraining', 'Baseline']);
    expect(picked.title).to.equal('answer NLL ↓ by model and method');
    expect(() => acrossTable(sets, 'model-by-method', { arms: ['nope'] })).to.throw(/--arms: no standard-stream arm nope/);
    // Nine arms: the baseline and V-pretraining stay, the last two are named in the caption.
    const many = join(root, 'many');
    const ids = ['baseline', 'v-pretraining', ...Array.from({ length: 7 }, (_, i) => `extra-${i + 1}`)];
    const cells = ids.flatMap((id) => lmCells().filter((c) => c.armId === 'baseline').map((c) => ({ ...c, armId: id, arm: id === 'v-pretraining' ? id : 'baseline' })));
    writeResults(many, { ...LM_SUITE, name: 'many', arms: ids.map((id) => ({ arm: id === 'v-pretraining' ? id : 'baseline', id })) }, cells);
    const t = acrossTable([readResultsDir(many)], 'model-by-method');
    expect(t.columns.length + 1).to.equal(MAX_COLUMNS);
    expect(t.caption).to.contain('Not shown here (page width): extra-6, extra-7; choose the arms with --arms.');
  });

  it('method-by-metric (the vision table): model × method down in row groups, metrics across, best per column within a model', () => {
    const t = acrossTable([readResultsDir(vitS), readResultsDir(vitB)], 'method-by-metric', { metrics: ['miou,none', 'rmse,none', 'top1,none'] });
    expect(t.rows.map((r) => [r.group, r.label])).to.deep.equal([
      ['vision-s (4L × 64)', 'Baseline'], ['vision-s (4L × 64)', 'V-pretraining'], ['vision-b (8L × 192)', 'Baseline'], ['vision-b (8L × 192)', 'V-pretraining'],
    ]);
    const md = toMarkdown(t);
    expect(md).to.contain('| method | mIoU (%) ↑ | RMSE ↓ | top-1 (%) ↑ |');
    expect(md).to.contain('| **vision-b (8L × 192)** | | | |');
    expect(md).to.contain('| V-pretraining | **50.59 ± 0.13** | **0.5805 ± 0.0011** | **81.98 ± 0.04** |');
    // Without --metric: every metric both suites record, headline first.
    expect(acrossTable([readResultsDir(vitS), readResultsDir(vitB)], 'method-by-metric').columns.map((c) => c.source)).to.deep.equal([
      'miou,none', 'rmse,none', 'top1,none', 'pixel_acc,none', 'absrel,none', 'delta1,none',
    ]);
  });

  it('two configs of one suite stay two rows, told apart by config hash', () => {
    const a = readResultsDir(small);
    expect(modelLabels([a, { ...a, configHash: 'other0config0001' }])).to.deep.equal(['lm-small (2L × 128), config cfg0fixture00001', 'lm-small (2L × 128), config other0config0001']);
  });

  it('vpt report A B --table model-by-method prints the table and writes it as .md, .csv and .tex with --out', async () => {
    const out = join(root, 'out');
    const r = await vpt(['report', small, wide, '--table', 'model-by-method', '--out', out]);
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.contain('| model | Baseline | V-pretraining |');
    expect(readFileSync(join(out, 'model-by-method.md'), 'utf8')).to.contain('lm-wide (4L × 256)');
    expect(readFileSync(join(out, 'model-by-method.tex'), 'utf8')).to.contain('\\toprule');
    expect(readFileSync(join(out, 'model-by-method.csv'), 'utf8').split('\n')[1]).to.match(/^model-by-method,lm-small@cfg0fixture00001,/);
    const bad = await vpt(['report', small, '--table', 'nope']);
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr).to.contain('--table nope: expected one of model-by-method, method-by-metric');
  });
});
