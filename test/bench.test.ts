/**
 * `vpt bench` on the tiny preset: the overhead table and its JSON have the paper's shape (per arm tokens/s,
 * learner-step ms, target share, meta-step time and share, peak memory; medians over fresh-process runs).
 * Shapes only: no test asserts a time.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import type { OverheadReport } from '../harness/language/bench/overhead.js';
import { tmp } from './helpers.js';

describe('vpt bench (overhead table)', () => {
  it('runs the tiny preset in fresh processes, repeated, and reports every column per arm', async () => {
    const json = join(tmp(), 'bench.json');
    const r = await execa(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'bench', '--preset', 'tiny', '--arms', 'v-pretraining',
      '--repeats', '2', '--steps', '2', '--warmup', '1', '--torch', 'off', '--profile', '1', '--json', json,
    ], { reject: false, cwd: REPO_ROOT });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/\| arm \| tokens\/s at r \| × baseline \| ms \/ learner step \| target building \| meta step ms \| meta ÷ learner step \| meta share at r \| tf peak MB \| RSS peak MB \| tokens\/CPU-s at r \| × baseline \(CPU\) \| meta ÷ learner \(CPU\) \|/);
    expect(r.stdout).to.match(/## tiny \(preset\): vocab 64, width 16, 2 heads, 2 blocks, sequence 16, batch 2/);
    expect(r.stdout).to.match(/\| baseline \| [\d,]+ \[[\d,]+–[\d,]+\] \| 1\.00 \|/);
    expect(r.stdout).to.match(/\| v-pretraining \| [\d,]+ \[/);
    expect(r.stderr).to.match(/bench \[4\/4\]/);
    // Each run's figures are logged as it finishes (a time-boxed bench cut short keeps them).
    expect(r.stderr).to.match(/bench {3}tiny\/v-pretraining: learner step [\d.]+ ms \(\d+ tokens\/s\), meta step [\d.]+ ms/);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as OverheadReport;
    expect(rep.runs).to.have.length(4);
    expect(rep.torch).to.deep.equal([]);
    expect(rep.configs[0]).to.include({ name: 'tiny', vocabSize: 64, cadence: 2, batchSize: 2 });
    const base = rep.rows.find((x) => x.arm === 'baseline')!;
    const v = rep.rows.find((x) => x.arm === 'v-pretraining')!;
    for (const row of [base, v]) {
      expect(row.tokensPerSec.n).to.equal(2);
      expect(row.learnerMs.median).to.be.greaterThan(0);
      expect(row.tokensPerCpuSec.n).to.equal(2);
      expect(row.tokensPerStep).to.equal(32);
      expect(row.tfPeakBytes).to.be.greaterThan(0);
      expect(row.rssPeakBytes).to.be.greaterThan(row.tfPeakBytes);
    }
    expect(base.vsBaseline).to.equal(1);
    expect(base.metaMs).to.equal(null);
    expect(v.metaMs!.n).to.equal(2);
    expect(v.metaPerStepCpu).to.be.greaterThan(0);
    expect(base.metaPerStepCpu).to.equal(null);
    // Meta share at cadence r follows from the medians: meta / (r·learner + meta).
    expect(v.metaShare).to.be.closeTo(v.metaMs!.median / (2 * v.learnerMs.median + v.metaMs!.median), 1e-12);
    expect(v.targetShare).to.be.greaterThan(0).and.lessThan(1);
    // The meta step's pieces (wasm runs ops as called, so the clock times each), within the meta step's time.
    expect(base.metaParts).to.equal(null);
    const parts = v.metaParts!;
    expect(Object.keys(parts)).to.have.members(['gDownMs', 'directionalMs', 'designerMs']);
    for (const ms of Object.values(parts)) expect(ms).to.be.greaterThan(0);
    expect(r.stdout).to.match(/\| arm \| g_down \| D \| designer update \| rest \|\n\| --- \| --- \| --- \| --- \| --- \|\n\| v-pretraining \| [\d.]+ \([\d.]+\) \|/);
    // The kernel profile of the baseline step: named kernels, matMuls with their shapes, all accounted in the sum.
    expect(r.stdout).to.match(/## tiny: the baseline learner step kernel by kernel/);
    const p = rep.profiles[0]!;
    expect(p.config).to.equal('tiny');
    expect(p.kernels.some((k) => /MatMul \[/.test(k.name))).to.equal(true);
    expect(p.kernelMs).to.be.closeTo(p.kernels.reduce((a, k) => a + k.ms, 0), 1e-9);
    // Work beside time: the baseline has no meta step; v-pretraining's meta step holds g_down, and its tokens/s
    // at r at one rate of multiply-adds is below the baseline's by what the meta step and targets add.
    expect(base.work).to.deep.include({ meta: null, gDown: null, feedbackBatch: null });
    expect(base.workVsBaseline).to.equal(1);
    const w = v.work!;
    expect(w.learner).to.be.at.least(base.work!.learner);
    expect(w.gDown).to.be.greaterThan(0).and.lessThan(w.meta!);
    expect(w.feedbackBatch).to.equal(rep.configs[0]!.feedbackBatch);
    expect(v.workVsBaseline).to.be.closeTo(base.work!.learner / (w.learner + w.meta! / 2), 1e-12);
    expect(r.stdout).to.match(/\| arm \| learner step \| × baseline \| meta step \| g_down \(feedback batch\) \|/);
    expect(r.stdout).to.match(/\| v-pretraining \| [\d.e-]+ \| [\d.]+ \| [\d.e-]+ \| [\d.e-]+ \(\d+\) \| [\d.]+ \| [\d.]+ \| [\d.]+ \| 0\.\d+ \| [\d.]+ \|/);
  });

  it('keeps the answers of feedback problems longer than a preset\'s sequence, so shuffled-feedback runs on the tiny preset', async () => {
    const r = await execa(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'bench', '--preset', 'tiny', '--arms', 'shuffled-feedback',
      '--repeats', '1', '--steps', '1', '--warmup', '1', '--torch', 'off',
    ], { reject: false, cwd: REPO_ROOT });
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/\| shuffled-feedback \| [\d,]+ \| [\d.]+ \|/);
  });

  it('measures each configuration on several backends side by side (--backend wasm,cpu), each section naming its engine', async () => {
    const json = join(tmp(), 'bench.json');
    const bench = (backend: string) => execa(process.execPath, [
      '--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'bench', '--preset', 'tiny', '--arms', 'baseline',
      '--repeats', '1', '--steps', '1', '--warmup', '0', '--torch', 'off', '--backend', backend, '--json', json,
    ], { reject: false, cwd: REPO_ROOT });
    const r = await bench('wasm,cpu');
    expect(r.exitCode, r.stderr).to.equal(0);
    expect(r.stdout).to.match(/## tiny on wasm \(preset\): .*; wasm, tfjs [\d.]+, /);
    expect(r.stdout).to.match(/## tiny on cpu \(preset\): .*; cpu, tfjs [\d.]+, /);
    const rep = JSON.parse(readFileSync(json, 'utf8')) as OverheadReport;
    expect(rep.configs.map((c) => [c.name, c.engine.backend])).to.deep.equal([['tiny on wasm', 'wasm'], ['tiny on cpu', 'cpu']]);
    expect(rep.rows.map((x) => x.config)).to.deep.equal(['tiny on wasm', 'tiny on cpu']);
    const bad = await bench('wasm,gpu');
    expect(bad.exitCode).to.equal(2);
    expect(bad.stderr.trim()).to.equal('vpt: --backend wasm,gpu: unknown backend gpu; choose from auto, webgpu, tensorflow-gpu, tensorflow, wasm, cpu');
  });
});
