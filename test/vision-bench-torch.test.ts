/**
 * `vpt bench --trainer torch` for vision: a vision suite's baseline and V-pretraining on the torch engine (a random
 * learner of the suite's shape, its own process) beside tfjs (in the bench's process, on wasm), with the learner
 * step, the meta step, its share at the cadence and peak memory. Shapes only: no test asserts a time. Skipped, saying
 * why, without a Python that has torch (VPT_REQUIRE_TORCH=1 fails instead).
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import type { VisionBenchRow } from '../harness/vision/bench/overhead.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

describe('vpt bench --trainer torch on a vision suite', () => {
  before(async function () {
    await requireTorchOrSkip(this);
  });

  it('times both engines: learner ms, meta ms, meta share at r, images/s, peak memory (torch)', async () => {
    const dir = tmp('vpt-vision-bench-');
    const suite = join(dir, 'tiny-vision.suite.ts');
    writeFileSync(suite, `export default ${JSON.stringify({
      task: 'vision', name: 'tiny-vision', seeds: [1], backend: 'wasm',
      model: { imageSize: 16, patchSize: 4, width: 16, depth: 2, heads: 2, mlpRatio: 2, headHidden: 32, headBottleneck: 16, headOut: 64 },
      data: { kind: 'embedded', unlabeled: 16, feedback: 8, probeTrain: 8, validation: 4, test: 4 },
      base: { steps: 0, augment: { localSize: 8, nLocal: 2 } },
      train: { steps: 4, batchSize: 2, augment: { localSize: 8, nLocal: 2 } },
      design: { subsetBlocks: 1, metaEvery: 4, metaBatch: 2, feedbackBatch: 2, headSteps: 2, probeBatches: 0 },
      arms: [{ arm: 'baseline' }, { arm: 'v-pretraining' }],
    })};\n`);
    const json = join(dir, 'bench.json');
    const r = await execa(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'bench', '--suite', suite, '--trainer', 'torch',
      '--repeats', '1', '--steps', '2', '--warmup', '1', '--torch', 'off', '--json', json,
    ], { reject: false, cwd: REPO_ROOT, all: true });
    expect(r.exitCode, r.all).to.equal(0);
    expect(r.stdout).to.match(/\| tiny-vision \| torch \(cpu\) \| /);
    const rows = (JSON.parse(readFileSync(json, 'utf8')) as { rows: VisionBenchRow[] }).rows;
    expect(rows.map((x) => x.engine)).to.deep.equal(['tfjs (wasm)', 'torch (cpu)']);
    for (const row of rows) {
      for (const k of ['baselineMs', 'vpLearnerMs', 'metaMs'] as const) expect(row[k], `${row.engine} ${k}`).to.be.greaterThan(0);
      expect(row.cadence).to.equal(4);
    }
    expect(rows[1]?.peakBytes).to.be.greaterThan(0);
  });
});
