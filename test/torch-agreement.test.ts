/**
 * The PyTorch engine (harness/torch, CPU, float32) against the tfjs engine (wasm) on the same cells: the same base
 * checkpoint (one engine reads the safetensors the other wrote), the same data draws (the harness makes them and
 * hands them to both), every language arm over 20 steps of a tiny GPT with a designer whose φ moves (lr 0.05).
 * The torch side computes the value's directional term by the same finite differences as tfjs here
 * (`torch.directional: 'differences'`); a second torch run with the exact term (forward-mode AD) must agree with
 * them to the differences' truncation error.
 *
 * Tolerances (measured differences are printed by the test; each bound sits well above them and far below what a
 * wrong mask, a missing scale or a shifted batch gives, which move losses by 1e-2 and more): both engines run
 * float32 with different summation orders (XNNPACK and vpt's wasm kernels against OpenBLAS and ATen), so one step
 * agrees to ~1e-6 relative and the difference grows through Adam's normalised updates over 20 steps; the designer's
 * V is a small difference of finite differences (ε = 1e-3 amplifies float32 rounding ~1/ε).
 *
 * Skipped, saying why, only when no Python here can import torch; with VPT_REQUIRE_TORCH=1 (set by .ci/run, which
 * installs python3-torch) it fails instead.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { tmp, requireTorchOrSkip } from './helpers.js';

const TOLERANCE = {
  /** Learner loss at every step, all arms: absolute (losses ~3-6). */
  loss: 2e-3,
  /** Pre-clip gradient norm at every step: relative. */
  gradNorm: 2e-2,
  /** The tracked validation NLL and the test answer NLL: relative. */
  nll: 1e-3,
  /** V before and after each meta step: relative, plus an absolute floor for values near 0. */
  value: { rel: 5e-2, abs: 2e-4 },
  /** cos(g_down, g_pre): absolute. */
  cos: 1e-2,
  /** Gate α per step and its window means (in [0, α_max = 0.5]): absolute. */
  gate: 1e-2,
  /** Probe predicted and realised decreases: relative L2 over the batches; r and slope: absolute. */
  probe: 5e-2,
  probeFit: 5e-2,
  /** Exact D against central differences at ε = 1e-3 (truncation O(ε²) plus float32 rounding/ε): V relative. */
  exactValue: { rel: 5e-2, abs: 5e-4 },
};

const ARMS = ['baseline', 'uniform-topk', 'self-distill', 'oracle-gate', 'v-pretraining', 'random-feedback', 'shuffled-feedback', 'schedule-matched', 'vp-options'];
/** Rows of the designer: the three arms and v-pretraining with every option of issue 24 on. */
const DESIGNER_ROWS = ['v-pretraining', 'random-feedback', 'shuffled-feedback', 'vp-options'];
/** v-pretraining with r over the other candidates, gate features, the label feature, its own Adam ε and fresh feedback. */
const OPTIONS_ROW = {
  arm: 'v-pretraining', id: 'vp-options',
  design: { rSupport: 'others', trueScoreInit: -1, gateFeatures: true, labelFeature: true, designerEps: 1e-6, freshFeedback: true, designerSteps: 2 },
};

function suiteFile(dir: string): string {
  const suite = {
    name: 'torch-agreement',
    seeds: [1],
    backend: 'wasm',
    data: { kind: 'embedded', trainSize: 96, testSize: 6, baseSize: 240, streamSize: 300, corruptFraction: 0.3 },
    model: { nLayer: 2, nHead: 2, nEmbd: 32, blockSize: 128, maxPieces: 256 },
    base: { steps: 20, batchSize: 8, logEvery: 10 },
    train: { steps: 20, batchSize: 4, warmupSteps: 2, logEvery: 1 },
    design: {
      topK: 4, metaEvery: 2, burnIn: 2, feedbackSize: 24, feedbackBatch: 4, designerWidth: 16, designerLr: 0.05,
      probeBatches: 5, probePoints: 2, subsetBlocks: 1,
    },
    eval: { gsm8k: { limit: 6, maxNewTokens: 12 }, downstream: { size: 12 } },
    arms: [...ARMS.filter((a) => a !== OPTIONS_ROW.id).map((arm) => ({ arm })), OPTIONS_ROW],
  };
  const f = join(dir, 'torch-agreement.suite.ts');
  writeFileSync(f, `export default ${JSON.stringify(suite, null, 1)};\n`);
  return f;
}

const vptRun = (args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', join(REPO_ROOT, 'harness', 'cli', 'main.ts'), 'run', ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env, CI: '1' }, all: true });

interface Cell {
  status: string;
  error?: string;
  metrics: Record<string, { value: number }>;
  diagnostics: Record<string, number>;
  engine?: { backend: string; device: string; paths?: Record<string, string> };
  curves: {
    train: { step: number; loss: number; gradNorm: number; lr: number }[];
    downstream?: { step: number; nll: number }[];
    designer?: { step: number; value: number | null; valueAfter: number | null; cos: number | null; gate: number; updates: number }[];
    alpha?: { step: number; alpha: number }[];
    probe?: { step: number; predicted: number[]; realised: number[]; r: number; slope: number; updateNorm: number; alphaPredicted?: number[]; alphaRealised?: number[] }[];
  };
}

function cellOf(out: string, arm: string): Cell {
  return JSON.parse(readFileSync(join(out, 'cells', arm, 'seed-1', 'cell.json'), 'utf8')) as Cell;
}

function generations(out: string, arm: string): string[] {
  return readFileSync(join(out, 'cells', arm, 'seed-1', 'samples.jsonl'), 'utf8').trim().split('\n').map((l) => (JSON.parse(l) as { generation: string }).generation);
}

function relL2(a: readonly number[], b: readonly number[]): number {
  let num = 0;
  let den = 0;
  for (let i = 0; i < b.length; i++) {
    num += ((a[i] as number) - (b[i] as number)) ** 2;
    den += (b[i] as number) ** 2;
  }
  return Math.sqrt(num) / Math.max(Math.sqrt(den), 1e-30);
}

const rel = (a: number, b: number): number => Math.abs(a - b) / Math.max(Math.abs(b), 1e-30);

describe('the torch engine against the tfjs engine (same checkpoint, same draws, float32 on CPU)', function () {
  const measured: Record<string, number> = {};
  let dir: string;
  let tfjs: string;
  let torch: string;
  let exact: string;

  before(async function () {
    await requireTorchOrSkip(this);
    dir = tmp('vpt-torch-agree-');
    const suite = suiteFile(dir);
    const cache = join(dir, 'cache');
    [tfjs, torch, exact] = ['tfjs', 'torch', 'exact'].map((x) => join(dir, x)) as [string, string, string];
    // tfjs first: it builds the base checkpoint both read.
    const a = await vptRun([suite, '--out', tfjs, '--cache', cache, '--workers', '2']);
    expect(a.exitCode, `tfjs run failed:\n${(a.all ?? '').slice(-3000)}`).to.equal(0);
    const torchArgs = ['--cache', cache, '--workers', '2', '--trainer', 'torch', '--set', 'torch.device=cpu'];
    const [b, c] = [
      await vptRun([suite, '--out', torch, ...torchArgs, '--set', 'torch.directional=differences']),
      await vptRun([suite, '--out', exact, ...torchArgs, '--set', 'torch.directional=exact', '--set', 'arms=[{"arm":"v-pretraining"}]']),
    ];
    expect(b.exitCode, `torch run failed:\n${(b.all ?? '').slice(-3000)}`).to.equal(0);
    expect(c.exitCode, `torch run (exact D) failed:\n${(c.all ?? '').slice(-3000)}`).to.equal(0);
  });

  after(function () {
    if (Object.keys(measured).length) console.log(`      measured differences (torch vs tfjs): ${Object.entries(measured).map(([k, v]) => `${k} ${v.toExponential(1)}`).join(', ')}`);
  });

  it('records the torch engine in every cell, and the same steps, data and base checkpoint as tfjs', () => {
    for (const arm of ARMS) {
      const [a, b] = [cellOf(tfjs, arm), cellOf(torch, arm)];
      expect(b.status, `${arm}: ${b.error ?? ''}`).to.equal('completed');
      expect(b.engine?.backend).to.equal('torch');
      expect(a.engine?.backend).to.equal('wasm');
      expect(b.curves.train.map((p) => p.step)).to.deep.equal(a.curves.train.map((p) => p.step));
    }
  });

  it('takes the same learner steps: loss, gradient norm and learning rate at every step of every arm', () => {
    let loss = 0;
    let grad = 0;
    for (const arm of ARMS) {
      const [a, b] = [cellOf(tfjs, arm).curves.train, cellOf(torch, arm).curves.train];
      a.forEach((p, i) => {
        const q = b[i] as (typeof b)[number];
        expect(q.lr, `${arm} step ${p.step} lr`).to.be.closeTo(p.lr, 1e-12);
        expect(Math.abs(q.loss - p.loss), `${arm} step ${p.step} loss ${q.loss} vs ${p.loss}`).to.be.at.most(TOLERANCE.loss);
        expect(rel(q.gradNorm, p.gradNorm), `${arm} step ${p.step} gradNorm ${q.gradNorm} vs ${p.gradNorm}`).to.be.at.most(TOLERANCE.gradNorm);
        loss = Math.max(loss, Math.abs(q.loss - p.loss));
        grad = Math.max(grad, rel(q.gradNorm, p.gradNorm));
      });
    }
    measured['loss (max abs)'] = loss;
    measured['grad norm (max rel)'] = grad;
  });

  it('tracks the same validation NLL and scores the same test NLL and greedy decodings', () => {
    let nll = 0;
    for (const arm of ARMS) {
      const [a, b] = [cellOf(tfjs, arm), cellOf(torch, arm)];
      (a.curves.downstream ?? []).forEach((p, i) => {
        const q = b.curves.downstream?.[i];
        expect(q?.step).to.equal(p.step);
        expect(rel(q?.nll ?? NaN, p.nll), `${arm} downstream step ${p.step}`).to.be.at.most(TOLERANCE.nll);
        nll = Math.max(nll, rel(q?.nll ?? NaN, p.nll));
      });
      const key = 'answer_nll,none';
      expect(rel(b.metrics[key]!.value, a.metrics[key]!.value), `${arm} answer NLL`).to.be.at.most(TOLERANCE.nll);
      expect(generations(torch, arm), `${arm} greedy decodings`).to.deep.equal(generations(tfjs, arm));
      expect(b.metrics['pass@1,strict-match']!.value).to.equal(a.metrics['pass@1,strict-match']!.value);
    }
    measured['NLL (max rel)'] = nll;
  });

  it('runs the designer the same: V before and after each meta step, cos(g_down, g_pre), the gate, the updates', () => {
    let value = 0;
    let cos = 0;
    let gate = 0;
    for (const arm of DESIGNER_ROWS) {
      const [a, b] = [cellOf(tfjs, arm).curves, cellOf(torch, arm).curves];
      expect(b.designer?.length).to.equal(a.designer?.length);
      (a.designer ?? []).forEach((p, i) => {
        const q = b.designer?.[i] as NonNullable<typeof b.designer>[number];
        expect(q.step).to.equal(p.step);
        expect(q.updates).to.equal(p.updates);
        for (const k of ['value', 'valueAfter'] as const) {
          const [u, v] = [q[k], p[k]];
          if (v === null) {
            expect(u, `${arm} ${k} at ${p.step}`).to.equal(null);
            continue;
          }
          expect(Math.abs((u as number) - v), `${arm} ${k} at ${p.step}: ${u} vs ${v}`).to.be.at.most(TOLERANCE.value.rel * Math.abs(v) + TOLERANCE.value.abs);
          value = Math.max(value, rel(u as number, v));
        }
        if (p.cos !== null) {
          expect(Math.abs((q.cos as number) - p.cos), `${arm} cos at ${p.step}`).to.be.at.most(TOLERANCE.cos);
          cos = Math.max(cos, Math.abs((q.cos as number) - p.cos));
        }
        expect(Math.abs(q.gate - p.gate), `${arm} gate at ${p.step}`).to.be.at.most(TOLERANCE.gate);
      });
    }
    for (const arm of [...DESIGNER_ROWS, 'oracle-gate', 'schedule-matched']) {
      const [a, b] = [cellOf(tfjs, arm).curves.alpha ?? [], cellOf(torch, arm).curves.alpha ?? []];
      expect(b.length, `${arm} α curve`).to.equal(a.length);
      a.forEach((p, i) => {
        expect(Math.abs((b[i]?.alpha ?? NaN) - p.alpha), `${arm} α at step ${p.step}`).to.be.at.most(TOLERANCE.gate);
        gate = Math.max(gate, Math.abs((b[i]?.alpha ?? NaN) - p.alpha));
      });
    }
    measured['V (max rel)'] = value;
    measured['cos (max abs)'] = cos;
    measured['gate α (max abs)'] = gate;
  });

  it('probes the same: predicted and realised decreases at the real step size, r and slope, and the α part\'s r', () => {
    let probe = 0;
    let alphaR = 0;
    for (const arm of DESIGNER_ROWS) {
      const [a, b] = [cellOf(tfjs, arm).curves.probe ?? [], cellOf(torch, arm).curves.probe ?? []];
      expect(a.length, `${arm}: the tfjs cell probed`).to.be.greaterThan(0);
      expect(b.length).to.equal(a.length);
      a.forEach((p, i) => {
        const q = b[i] as (typeof b)[number];
        expect(q.step).to.equal(p.step);
        expect(relL2(q.predicted, p.predicted), `${arm} probe predicted at ${p.step}`).to.be.at.most(TOLERANCE.probe);
        expect(relL2(q.realised, p.realised), `${arm} probe realised at ${p.step}`).to.be.at.most(TOLERANCE.probe);
        expect(Math.abs(q.r - p.r), `${arm} probe r`).to.be.at.most(TOLERANCE.probeFit);
        expect(Math.abs(q.slope - p.slope), `${arm} probe slope`).to.be.at.most(TOLERANCE.probeFit);
        // The α-dependent part (the designer's step against one-hot): its predicted and realised decreases.
        expect(p.alphaPredicted, `${arm}: the tfjs probe measured the α part`).to.have.length(p.predicted.length);
        const worst = Math.max(relL2(q.alphaPredicted ?? [], p.alphaPredicted ?? []), relL2(q.alphaRealised ?? [], p.alphaRealised ?? []));
        expect(worst, `${arm} α-part probe at ${p.step}`).to.be.at.most(TOLERANCE.probe);
        alphaR = Math.max(alphaR, worst);
        probe = Math.max(probe, relL2(q.predicted, p.predicted), relL2(q.realised, p.realised));
      });
    }
    measured['probe (max rel L2)'] = probe;
    measured['α-part probe (max rel L2)'] = alphaR;
  });

  it('with the exact directional term (forward-mode AD) gives the differences\' V to their truncation error', () => {
    const [a, b] = [cellOf(torch, 'v-pretraining'), cellOf(exact, 'v-pretraining')];
    expect(b.engine?.paths?.directional, 'the exact path ran').to.not.equal('finite-differences');
    let worst = 0;
    (a.curves.designer ?? []).forEach((p, i) => {
      const q = b.curves.designer?.[i];
      if (p.value === null || q?.value === null || q === undefined) return;
      expect(Math.abs((q.value as number) - p.value), `V at ${p.step}: exact ${q.value} vs differences ${p.value}`).to.be.at.most(TOLERANCE.exactValue.rel * Math.abs(p.value) + TOLERANCE.exactValue.abs);
      worst = Math.max(worst, rel(q.value as number, p.value));
    });
    measured['exact vs differences V (max rel)'] = worst;
  });

  it('writes the engine\'s inputs beside the cell (config JSON and safetensors)', () => {
    const engine = join(torch, 'cells', 'v-pretraining', 'seed-1', 'engine');
    expect(existsSync(join(engine, 'inputs.json'))).to.equal(true);
    expect(existsSync(join(engine, 'inputs.safetensors'))).to.equal(true);
    const cfg = JSON.parse(readFileSync(join(engine, 'inputs.json'), 'utf8')) as { protocol: number; arm: { rule: string } };
    expect(cfg.protocol).to.equal(1);
    expect(cfg.arm.rule).to.equal('designer');
  });
});
