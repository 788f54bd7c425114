/**
 * The torch engine as a process a cell starts (docs/TRAINER-PROTOCOL.md): a missing Python or torch stops a run
 * before any work with one line saying what to install; an exception in the engine fails its cell only, with the
 * engine's message and last stderr lines in the cell's error, and --resume redoes it; a cell that times out or a
 * run that is interrupted leaves no engine process behind.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { chmodSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

const MICRO = join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts');
const CLI = join(REPO_ROOT, 'harness', 'cli', 'main.ts');
const TWO_ARMS = 'arms=[{"arm":"baseline"},{"arm":"self-distill"}]';

const vpt = (args: string[], env: Record<string, string> = {}) =>
  execa(process.execPath, ['--import', 'tsx', CLI, ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1', ...env }, all: true });

/** Engine processes working in `dir` (the cells' inputs live under it). */
async function engines(dir: string): Promise<string[]> {
  const r = await execa('pgrep', ['-af', `vpt_torch (run|calibrate) ${dir}`], { reject: false });
  return r.stdout.split('\n').filter(Boolean);
}

async function waitFor(check: () => Promise<boolean>, ms: number): Promise<boolean> {
  const until = Date.now() + ms;
  while (Date.now() < until) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 200));
  }
  return false;
}

describe('the torch engine as a process', function () {
  let cache: string;

  before(async function () {
    await requireTorchOrSkip(this);
    cache = tmp('vpt-torch-cache-');
  });

  it('without Python, or with a Python that has no torch, stops before any work with one line saying what to install', async () => {
    const out = join(tmp(), 'run');
    const none = await vpt(['run', MICRO, '--trainer', 'torch', '--out', out, '--cache', cache], { VPT_PYTHON: '/nonexistent/python3' });
    expect(none.exitCode).to.equal(2);
    expect(none.stderr.trim().split('\n')).to.have.length(1);
    expect(none.stderr).to.match(/trainer 'torch': no Python 3 here \(tried \/nonexistent\/python3\).*apt-get install python3-torch/);
    // A Python without its site packages cannot import Debian's torch.
    const bare = join(tmp(), 'python-without-torch');
    writeFileSync(bare, '#!/bin/sh\nexec /usr/bin/python3 -S "$@"\n');
    chmodSync(bare, 0o755);
    const noTorch = await vpt(['run', MICRO, '--trainer', 'torch', '--out', out, '--cache', cache], { VPT_PYTHON: bare });
    expect(noTorch.exitCode).to.equal(2);
    expect(noTorch.stderr.trim().split('\n')).to.have.length(1);
    expect(noTorch.stderr).to.match(/no Python here can import torch \(tried .*python-without-torch\): install it \(Debian\/Ubuntu: sudo apt-get install python3-torch libopenblas0-pthread/);
    expect(existsSync(out), 'nothing was written').to.equal(false);
  });

  it('fails only the cell whose engine raised, with its message and stderr, and --resume redoes that cell', async () => {
    const out = join(tmp(), 'run');
    const args = ['run', MICRO, '--trainer', 'torch', '--set', 'torch.device=cpu', '--set', 'seeds=[1]', '--set', TWO_ARMS, '--out', out, '--cache', cache];
    const r = await vpt(args, { VPT_TORCH_FAIL: 'self-distill@2' });
    expect(r.exitCode, r.all).to.equal(1);
    const cell = (arm: string) => JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as { status: string; error?: string; engine?: { backend: string } };
    expect(cell('baseline').status).to.equal('completed');
    expect(cell('baseline').engine?.backend).to.equal('torch');
    const failed = cell('self-distill');
    expect(failed.status).to.equal('errored');
    expect(failed.error).to.match(/torch engine failed \(exit 1\): RuntimeError: injected failure at step 2 \(VPT_TORCH_FAIL\)/);
    expect(failed.error).to.match(/--- engine stderr \(last lines\) ---\n(.|\n)*Traceback/);
    const before = readFileSync(join(out, 'cells', 'baseline', 'seed-1', 'cell.json'), 'utf8');
    const again = await vpt([...args, '--resume']);
    expect(again.exitCode, again.all).to.equal(0);
    expect(cell('self-distill').status).to.equal('completed');
    expect(readFileSync(join(out, 'cells', 'baseline', 'seed-1', 'cell.json'), 'utf8'), 'the finished cell is kept as it was').to.equal(before);
    expect(await engines(out)).to.deep.equal([]);
  });

  it('kills the engine with its cell when the cell times out', async () => {
    const out = join(tmp(), 'run');
    const r = await vpt(['run', MICRO, '--trainer', 'torch', '--set', 'torch.device=cpu', '--set', 'seeds=[1]', '--set', 'arms=[{"arm":"baseline"}]',
      '--set', 'train.steps=100000', '--set', 'train.logEvery=1000', '--cell-timeout', '20', '--out', out, '--cache', cache]);
    expect(r.exitCode, r.all).to.equal(1);
    expect(JSON.parse(readFileSync(join(out, 'cells', 'baseline', 'seed-1', 'cell.json'), 'utf8')).status).to.equal('timedout');
    expect(await waitFor(async () => (await engines(out)).length === 0, 5000), `engines left: ${(await engines(out)).join('; ')}`).to.equal(true);
  });

  it('leaves no engine behind when the run is interrupted (SIGINT to its process group)', async () => {
    const out = join(tmp(), 'run');
    const child = execa(process.execPath, ['--import', 'tsx', CLI, 'run', MICRO, '--trainer', 'torch', '--set', 'torch.device=cpu', '--set', 'seeds=[1]',
      '--set', 'arms=[{"arm":"baseline"}]', '--set', 'train.steps=100000', '--set', 'train.logEvery=1000', '--out', out, '--cache', cache],
      { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, detached: true, all: true });
    const started = await waitFor(async () => (await engines(out)).length > 0, 120_000);
    expect(started, 'the engine started').to.equal(true);
    process.kill(-(child.pid as number), 'SIGINT');
    await child;
    expect(await waitFor(async () => (await engines(out)).length === 0, 5000), `engines left: ${(await engines(out)).join('; ')}`).to.equal(true);
  });
});
