/**
 * `vpt bench --trainer torch`: the torch engine's arms beside tfjs's in one run, each in a fresh engine process
 * (docs/TRAINER-PROTOCOL.md, Benchmarks), with the same columns where the engine measures them. Shapes only: no
 * test asserts a time. Skipped, saying why, without a Python that has torch (VPT_REQUIRE_TORCH=1 fails instead).
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { OverheadReport } from '../harness/language/bench/overhead.js';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

describe('vpt bench --trainer torch', () => {
  before(async function () {
    await requireTorchOrSkip(this);
  });

  it('measures the tiny preset on the torch engine beside tfjs: tokens/s at r, meta ÷ learner, peak memory', async () => {
    const json = join(tmp(), 'bench.json');
    const r = await execa(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'bench', '--preset', 'tiny', '--arms', 'v-pretraining', '--trainer', 'torch',
      '--repeats', '1', '--steps', '3', '--warmup', '1', '--torch', 'off', '--json', json,
    ], { reject: false, cwd: REPO_ROOT });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/## tiny \(preset\): vocab 64/);
    expect(r.stdout).to.match(/## tiny on torch \(preset\): vocab 64, width 16, 2 heads, 2 blocks, sequence 16, batch 2, [\d,]+ parameters; .*torch engine \(torch [\w.]+\), cpu, float32/);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as OverheadReport;
    const torch = rep.rows.filter((x) => x.config === 'tiny on torch');
    expect(torch.map((x) => x.arm)).to.deep.equal(['baseline', 'v-pretraining']);
    for (const row of torch) {
      expect(row.tokensPerSec.median).to.be.greaterThan(0);
      expect(row.tokensPerStep).to.equal(32);
      expect(row.rssPeakBytes).to.be.greaterThan(0);
    }
    const v = torch.find((x) => x.arm === 'v-pretraining')!;
    expect(v.metaPerStep).to.be.a('number').and.greaterThan(0);
    expect(v.metaShare).to.be.greaterThan(0);
    expect(v.mfu, 'no MFU on CPU').to.equal(null);
    // tfjs's rows are there too, in their own section.
    expect(rep.rows.filter((x) => x.config === 'tiny').map((x) => x.arm)).to.deep.equal(['baseline', 'v-pretraining']);
  });
});
