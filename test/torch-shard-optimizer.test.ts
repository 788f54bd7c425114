/**
 * `torch.shardOptimizer`: a suite asks for AdamW's moments sharded over its `torch.nproc` processes (ZeRO stage 1 in
 * the PyTorch engine). A full-parameter cell of a tiny Qwen2 checkpoint runs as 2 CPU processes with the moments
 * sharded, its record naming that path, and takes the steps the unsharded 2-process run takes (the engine's own
 * tests compare the numbers with 1 process); asking for it on one process is refused before any work, naming the key.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { writeByteTokenizer, writeTinyDecoder } from './hf-fixtures.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

const CLI = join(REPO_ROOT, 'harness', 'cli', 'main.ts');
const vpt = (args: string[]) => execa(process.execPath, ['--import', 'tsx', CLI, ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, all: true });

type Cell = { status: string; engine?: { paths?: Record<string, string> }; curves: { train: { step: number; loss: number }[] } };
const cell = (out: string) => JSON.parse(readFileSync(join(out, 'cells', 'baseline', 'seed-1', 'cell.json'), 'utf8')) as Cell;

describe('torch.shardOptimizer (AdamW moments sharded over the processes)', function () {
  let dir: string;
  let suite: string;

  before(async function () {
    await requireTorchOrSkip(this);
    dir = tmp('vpt-shard-');
    const model = join(dir, 'tiny-qwen2');
    writeTinyDecoder(model, { arch: 'qwen2', vocab: 264, hidden: 32, layers: 2, heads: 4, kvHeads: 2, intermediate: 48, tied: true, maxPositions: 1024 }, 7);
    writeByteTokenizer(model);
    const s = {
      name: 'shard',
      seeds: [1],
      trainer: 'torch',
      torch: { device: 'cpu', dtype: 'float32', nproc: 2 },
      data: { kind: 'embedded', trainSize: 64, testSize: 4, baseSize: 40, streamSize: 200 },
      model: { kind: 'hf', path: model, blockSize: 48, trainable: 'full' },
      train: { steps: 4, batchSize: 4, warmupSteps: 1, logEvery: 1, lr: 3e-3 },
      design: { topK: 4, feedbackSize: 12, feedbackBatch: 4, probeBatches: 0, subsetBlocks: 1 },
      eval: { gsm8k: { limit: 2, maxNewTokens: 4 }, downstream: { size: 4 } },
      arms: [{ arm: 'baseline' }],
    };
    suite = join(dir, 'shard.suite.ts');
    writeFileSync(suite, `export default ${JSON.stringify(s)};\n`);
  });

  it('runs a full-parameter cell on 2 processes with the moments sharded, as the unsharded run steps', async () => {
    const [plain, sharded] = [join(dir, 'plain'), join(dir, 'sharded')];
    const cache = join(dir, 'cache');
    const a = await vpt(['run', suite, '--out', plain, '--cache', cache]);
    expect(a.exitCode, a.all).to.equal(0);
    const b = await vpt(['run', suite, '--out', sharded, '--cache', cache, '--set', 'torch.shardOptimizer=true']);
    expect(b.exitCode, b.all).to.equal(0);
    const [x, y] = [cell(plain), cell(sharded)];
    expect(x.engine?.paths?.optimizer).to.equal('replicated');
    expect(y.engine?.paths?.optimizer).to.equal('zero-1');
    expect(y.engine?.paths?.parallel).to.equal('all-reduce');
    expect(y.curves.train.map((p) => p.step)).to.deep.equal(x.curves.train.map((p) => p.step));
    x.curves.train.forEach((p, i) => expect(Math.abs(p.loss - y.curves.train[i]!.loss), `step ${p.step}`).to.be.at.most(1e-5 * Math.abs(p.loss)));
  });

  it('refuses it on one process before any work, naming the key', async () => {
    const r = await vpt(['validate', suite, '--set', 'torch.nproc=1', '--set', 'torch.shardOptimizer=true']);
    expect(r.exitCode).to.not.equal(0);
    expect(r.all).to.match(/torch\.shardOptimizer/);
  });
});
