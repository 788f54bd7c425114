/**
 * suites/paper-vision.suite.ts: it validates as a suite, and without its files `vpt validate` names every missing
 * input with what to get (one line each, before any data is read); a probe data set whose label space is not the
 * one the suite expects (`eval.classes`) is one line too.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp } from './helpers.js';

const validate = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'validate', ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1', ...env }, all: true });

describe('the paper-vision suite and the vision inputs it names', function () {
  it('names every missing file of paper-vision, with where to get it', async () => {
    const root = tmp('vpt-paper-vision-');
    const r = await validate(['paper-vision'], { VPT_PAPER_DATA: root });
    expect(r.exitCode).to.not.equal(0);
    const out = r.all ?? '';
    expect(out).to.include('8 inputs are missing');
    for (const key of ['model.backbone', 'data.unlabeled', 'data.imagenetTrain', 'data.imagenetTest', 'data.synsetMapping', 'data.ade20k', 'data.nyuv2Train', 'data.nyuv2Test']) {
      expect(out, key).to.match(new RegExp(`${key.replace('.', '\\.')}: ${root}/\\S+: no such (folder|file): get `));
    }
    expect(out).to.include('huggingface.co/facebook/dinov2-large');
  });

  it('refuses probe data whose classes are not the suite\'s, in one line', async () => {
    const dir = tmp('vpt-vision-classes-');
    const f = join(dir, 'classes.suite.ts');
    const suite = {
      task: 'vision', name: 'classes', seeds: [1],
      model: { imageSize: 16, patchSize: 4, width: 16, depth: 2, heads: 2, mlpRatio: 2, headHidden: 32, headBottleneck: 16, headOut: 64 },
      data: { kind: 'embedded', unlabeled: 24, feedback: 4, probeTrain: 24, validation: 12, test: 12 },
      train: { steps: 2, batchSize: 4, augment: { localSize: 8, nLocal: 2 } },
      base: { steps: 2, batchSize: 4, augment: { localSize: 8, nLocal: 2 } },
      eval: { classes: { classification: 5 } },
      arms: [{ arm: 'baseline' }],
    };
    writeFileSync(f, `export default ${JSON.stringify(suite)};\n`);
    const r = await validate([f]);
    expect(r.exitCode).to.not.equal(0);
    expect(r.all ?? '').to.match(/eval\.classes\.classification: the suite expects 5 image classes, the classification data has 3/);
  });
});
