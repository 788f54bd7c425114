/**
 * The GPU-runner recipe (.github/workflows/paper-lm.yml, in sequence: scripts/ci-suite.sh) checked on a CPU with the
 * torch engine and a tiny random Qwen2-layout checkpoint in LoRA: two shards, merge, report, and the gate against a
 * baseline recorded from an unsharded run of the same suite (nothing regresses; the merged table equals the
 * unsharded one).
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { writeByteTokenizer, writeTinyDecoder } from './hf-fixtures.js';
import { tmp, vpt, requireTorchOrSkip } from './helpers.js';

describe('the GPU-runner recipe on a CPU (torch engine, tiny Qwen2 checkpoint)', () => {
  before(async function () {
    await requireTorchOrSkip(this);
  });

  it('runs shards, merges them, reports and passes the gate against its own baseline', async () => {
    const dir = tmp('vpt-ci-torch-');
    const model = join(dir, 'tiny-qwen2');
    writeTinyDecoder(model, { arch: 'qwen2', vocab: 264, hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48, tied: true, maxPositions: 1024 }, 11);
    writeByteTokenizer(model);
    const suite = join(dir, 'tiny-paper.suite.ts');
    writeFileSync(suite, `export default ${JSON.stringify({
      name: 'tiny-paper', seeds: [1, 2], trainer: 'torch', torch: { device: 'cpu' },
      data: { kind: 'embedded', trainSize: 64, testSize: 4, baseSize: 40, streamSize: 200 },
      model: { kind: 'hf', path: model, blockSize: 48, trainable: { lora: { r: 4, alpha: 8, dropout: 0.05, targets: ['q_proj', 'v_proj'] } } },
      train: { steps: 4, batchSize: 4, accum: 2, warmupSteps: 1, logEvery: 2, lr: 2e-3 },
      design: { topK: 4, metaEvery: 2, burnIn: 1, feedbackSize: 12, feedbackBatch: 3, designerWidth: 16, probeBatches: 0, subsetBlocks: 1 },
      eval: { gsm8k: { limit: 3, maxNewTokens: 6 }, downstream: { size: 6 } },
      arms: [{ arm: 'baseline' }, { arm: 'v-pretraining' }],
    })};\n`);
    const cache = join(dir, 'cache');
    const whole = join(dir, 'whole');
    const run = await vpt(['run', suite, '--out', whole, '--cache', cache, '--workers', '2']);
    expect(run.exitCode, run.all ?? run.stderr).to.equal(0);
    const rec = await vpt(['baseline', 'record', whole, '--as', 'tiny-paper', '--dir', join(dir, 'baselines')]);
    expect(rec.exitCode, rec.stderr).to.equal(0);
    const r = await execa('bash', [join(REPO_ROOT, 'scripts', 'ci-suite.sh'), suite, join(dir, 'baselines', 'tiny-paper.json'), '2', join(dir, 'ci')], {
      reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1', VPT_RUN_FLAGS: `--cache ${cache} --trainer torch` },
    });
    expect(r.exitCode, r.stderr + r.stdout).to.equal(0);
    expect(r.stdout).to.match(/== shard 2\/2[\s\S]*== merge[\s\S]*== report[\s\S]*== compare/);
    expect(r.stdout).to.match(/\n0 regressed, \d+ improved, \d+ within noise/);
    expect(readFileSync(join(dir, 'ci', 'merged', 'summary.md'), 'utf8')).to.equal(readFileSync(join(whole, 'summary.md'), 'utf8'));
    const cell = JSON.parse(readFileSync(join(dir, 'ci', 'merged', 'cells', 'v-pretraining', 'seed-2', 'cell.json'), 'utf8')) as { engine: { backend: string; paths: Record<string, string> } };
    expect(cell.engine.backend).to.equal('torch');
    expect(cell.engine.paths.lora).to.equal('built-in');
  });
});
