import { expect } from 'chai';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { tmp, vpt } from './helpers.js';
import { TINY_VISION } from './vision-helpers.js';

describe('a vision suite through vpt run (the task seam)', () => {
  it('runs base + reference probes, one cell per seed in workers, and tabulates with the reference rows', async () => {
    const dir = tmp();
    const suite = join(dir, 'tiny-vision.suite.ts');
    writeFileSync(suite, `export default ${JSON.stringify({ task: 'vision', name: 'tiny-vision', seeds: [1, 2], ...TINY_VISION, arms: [{ arm: 'baseline' }] })};\n`);
    const v = await vpt(['validate', suite]);
    expect(v.exitCode, v.stderr).to.equal(0);
    expect(v.stdout).to.match(/valid \(vision task, config [0-9a-f]{16}\), data checked \(unlabeled 24, probes train\/validation\/test: segmentation 24\/12\/12, depth 24\/12\/12, classification 24\/12\/12\), 2 cells/);
    const out = join(dir, 'out');
    const r = await vpt(['run', suite, '--workers', '2', '--out', out, '--cache', join(dir, 'cache')]);
    expect(r.exitCode, r.stderr).to.equal(0);
    for (const seed of [1, 2]) {
      const cell = JSON.parse(readFileSync(join(out, 'cells', 'baseline', `seed-${seed}`, 'cell.json'), 'utf8'));
      expect(cell.status).to.equal('completed');
      expect(cell.task).to.equal('vision');
      expect(Object.keys(cell.metrics).sort()).to.deep.equal(['absrel,none', 'delta1,none', 'miou,none', 'pixel_acc,none', 'rmse,none', 'top1,none']);
      expect(cell.higherIsBetter['rmse,none']).to.equal(false);
      expect(cell.steps.done).to.equal(3);
      expect(cell.evalVersions).to.have.property('probes');
    }
    expect(r.stdout).to.match(/\| random-init backbone \(no pretraining\) \|/);
    expect(r.stdout).to.match(/\| base checkpoint \(before continued pretraining\) \|/);
    expect(r.stdout).to.match(/\| baseline \|/);
    expect(r.stdout).to.match(/mIoU \(%\) ↑/);
    expect(r.stdout).to.match(/RMSE ↓/);
  });

  it('runs the four vision arms: random-masks after and matched to v-pretraining, designer curves and mask previews', async () => {
    const dir = tmp();
    const suite = join(dir, 'tiny-masks.suite.ts');
    const design = { subsetBlocks: 1, burnIn: 1, metaEvery: 1, metaBatch: 2, feedbackBatch: 4, headSteps: 4, probeBatches: 0, previewImages: 2 };
    const arms = [{ arm: 'baseline' }, { arm: 'v-pretraining' }, { arm: 'random-feedback' }, { arm: 'random-masks' }];
    writeFileSync(suite, `export default ${JSON.stringify({ task: 'vision', name: 'tiny-masks', seeds: [1], ...TINY_VISION, design, arms })};\n`);
    const out = join(dir, 'out');
    const r = await vpt(['run', suite, '--workers', '2', '--out', out, '--cache', join(dir, 'cache')]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const cell = (arm: string) => JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8'));
    const vp = cell('v-pretraining');
    expect(vp.status).to.equal('completed');
    expect(vp.curves.designer).to.have.length(2);
    expect(Object.keys(vp.curves.designer[0]).sort()).to.include.members(['step', 'value', 'keep', 'entropy', 'tv']);
    expect(vp.diagnostics.meta_steps).to.equal(2);
    expect(vp.diagnostics.meta_fraction_of_step).to.be.greaterThan(0);
    for (const f of ['masks-initial.png', 'masks-final.png']) expect(existsSync(join(out, 'cells', 'v-pretraining', 'seed-1', f)), f).to.equal(true);
    const rm = cell('random-masks');
    expect(rm.status).to.equal('completed');
    // Matched to the v-pretraining cell it read (which therefore ran first).
    expect(rm.diagnostics.matched).to.equal(1);
    expect(rm.diagnostics.random_keep).to.be.closeTo(vp.diagnostics.keep_ratio, 0.01);
    expect(Date.parse(rm.startedAt)).to.be.at.least(Date.parse(vp.finishedAt));
    expect(cell('random-feedback').curves.designer).to.have.length(2);
    expect(cell('baseline').curves.designer).to.equal(undefined);
    for (const row of ['baseline', 'v-pretraining', 'random-feedback', 'random-masks']) expect(r.stdout).to.match(new RegExp(`\\| ${row} \\|`));
    // The masks' statistics are designer diagnostics: their own table.
    expect(readFileSync(join(out, 'report', 'diagnostics.md'), 'utf8')).to.match(/keep ratio/);
  });

  it('vpt run takes several suites; --out is for one', async () => {
    const r = await vpt(['run', 'quick', 'vision-quick', '--out', join(tmp(), 'x')]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/--out applies to one suite; 2 were named \(quick, vision-quick\)/);
  });

  it('a vision suite with a language key is an error naming it', async () => {
    const suite = join(tmp(), 'bad.suite.ts');
    writeFileSync(suite, `export default ${JSON.stringify({ task: 'vision', name: 'bad', seeds: [1], ...TINY_VISION, decontamination: {}, arms: [{ arm: 'baseline' }] })};\n`);
    const r = await vpt(['validate', suite]);
    expect(r.exitCode).to.equal(2);
    expect(r.stderr).to.match(/\(top level\): Unrecognized key: "decontamination"/);
  });
});
