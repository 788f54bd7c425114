/**
 * The WebGPU backend (tfjs-backend-webgpu on Dawn; in CI on Mesa's lavapipe, a software Vulkan) against wasm.
 * Each backend runs in its own process (./agreement/run.ts) from the same seeds; the numbers must agree within
 * the tolerances below (float32 on both; wasm runs vpt's own SIMD kernels, WebGPU the stock tfjs ops, so the
 * summation orders differ). Measured on lavapipe (Mesa 25.0.7) vs wasm: loss 1e-7 relative, gradients and
 * g_down 2-4e-7 (relative L2), D 2e-4, V 1e-3 (a small difference of finite differences), ∇_φV 3e-5,
 * parameters after a learner step with a meta step 6e-8, losses over 20 steps at the quick suite's size within
 * 1e-6; greedy decoding identical. The designer and gate arms over 7 steps of a tiny model (designer lr 0.05,
 * so φ moves and float differences grow through its Adam steps): losses 3e-4, V 1e-4 relative (2e-5 absolute
 * near 0), cos(g_down, g_pre) 3e-5, gate α 1.6e-3 absolute, probe predictions and realised decreases 2e-3
 * (relative L2), probe r and slope 2e-3.
 * Skipped, saying why, only when no Vulkan adapter can be had; with VPT_REQUIRE_WEBGPU=1 (set by .ci/run when
 * it installed lavapipe, and by scripts/gpu-check.sh) it fails instead.
 */
import { expect } from 'chai';
import { execa } from 'execa';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { REPO_ROOT } from '../harness/results/version.js';
import { DESIGNER_ARMS, type ArmRun } from './agreement/arms.js';
import { tmp, vpt } from './helpers.js';

/** Steps of each loss trajectory at the quick suite's parameter count (VPT_AGREEMENT_STEPS overrides). */
const STEPS = Number(process.env.VPT_AGREEMENT_STEPS ?? 20);

/** Tolerances, each well above what was measured and far below what a wrong kernel, mask or split gives. */
const TOLERANCE = {
  /** Loss, answer NLL: relative. */
  loss: 1e-5,
  /** Gradients, g_down, parameters after a step: relative L2 per tensor. */
  tensor: 1e-4,
  /** The directional term D (finite differences at ε = 1e-3 amplify float32 rounding ~1/ε): relative L2. */
  directional: 5e-3,
  /** V and the V a meta step reports: relative, plus an absolute floor for values near 0. */
  value: { rel: 2e-2, abs: 1e-4 },
  /** ∇_φ V: relative L2 per tensor. */
  valueGrad: 2e-3,
  /** Loss trajectories: absolute per logged step (losses ~5-7). */
  trajectory: 1e-3,
  /** cos(g_down, g_pre): absolute. */
  cos: 1e-3,
  /** Gate α (in [0, α_max = 0.5]) per step and its window means: absolute. */
  gate: 5e-3,
  /** Probe: predicted and realised decreases (relative L2 over the batches), update norm and η (relative). */
  probe: 1e-2,
  /** Probe r and slope: absolute. */
  probeFit: 1e-2,
};

type Named = Record<string, number[]>;

interface Side {
  engine: { backend: string; device: string; adapter?: { name: string; vendor: string; software: boolean; maxStorageBuffersPerShaderStage: number } };
  tiny: { loss: number; gradients: Named; downLoss: number; gDown: Named; D: number[]; value: number; valueGrad: Named };
  trainer: { metaLoss: number; metaGradNorm: number; metaValue: number; afterMeta: Named; trainCurve: number[]; answerNll: number; generations: string[] };
  designerArms: Record<string, ArmRun>;
  trajectories?: Record<string, { losses: number[]; gradNorms: number[]; msPerStep: number; tokensPerSecond: number; tensors: number[]; values?: number[] }> & { params: number };
}

const tsx = (args: string[]) =>
  execa(process.execPath, ['--import', 'tsx', ...args], { reject: false, cwd: REPO_ROOT, env: { ...process.env }, all: true });

function parse<T>(out: string, prefix: string): T | undefined {
  const line = out.split('\n').find((l) => l.startsWith(prefix));
  return line ? (JSON.parse(line.slice(prefix.length)) as T) : undefined;
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

function expectTensorsClose(a: Named, b: Named, tol: number, what: string): void {
  expect(Object.keys(a).sort(), what).to.deep.equal(Object.keys(b).sort());
  for (const k of Object.keys(b)) expect(relL2(a[k] as number[], b[k] as number[]), `${what} ${k}`).to.be.lessThan(tol);
}

function expectRel(a: number, b: number, rel: number, what: string, abs = 0): void {
  expect(Math.abs(a - b), `${what}: ${a} vs ${b}`).to.be.at.most(rel * Math.abs(b) + abs);
}

/** The largest difference of each kind between the two sides (what the tolerances above are judged against). */
function measured(a: Side, b: Side): Record<string, number | boolean> {
  const rel = (x: number, y: number): number => Math.abs(x - y) / Math.max(Math.abs(y), 1e-30);
  const maxRel = (x: Named, y: Named): number => Math.max(...Object.keys(y).map((k) => relL2(x[k] ?? [], y[k] as number[])));
  const out: Record<string, number | boolean> = {
    'loss (rel)': rel(a.tiny.loss, b.tiny.loss),
    'gradients (max rel L2)': maxRel(a.tiny.gradients, b.tiny.gradients),
    'g_down (max rel L2)': maxRel(a.tiny.gDown, b.tiny.gDown),
    'D (rel L2)': relL2(a.tiny.D, b.tiny.D),
    'V (rel)': rel(a.tiny.value, b.tiny.value),
    '∇φV (max rel L2)': maxRel(a.tiny.valueGrad, b.tiny.valueGrad),
    'meta-step V (rel)': rel(a.trainer.metaValue, b.trainer.metaValue),
    'params after a meta step (max rel L2)': maxRel(a.trainer.afterMeta, b.trainer.afterMeta),
    'answer NLL (rel)': rel(a.trainer.answerNll, b.trainer.answerNll),
    'greedy decoding identical': JSON.stringify(a.trainer.generations) === JSON.stringify(b.trainer.generations),
  };
  const arms = DESIGNER_ARMS.map((arm) => [a.designerArms[arm], b.designerArms[arm]] as [ArmRun, ArmRun]);
  const most = (f: (x: ArmRun, y: ArmRun) => number[]): number => Math.max(0, ...arms.flatMap(([x, y]) => f(x, y)));
  const points = (x: ArmRun, k: string): Record<string, unknown>[] => (x.curves[k] ?? []) as Record<string, unknown>[];
  const pairs = (x: ArmRun, y: ArmRun, k: string, f: string): [number, number][] =>
    points(x, k).map((p, i) => [p[f], points(y, k)[i]?.[f]] as [unknown, unknown]).filter((q): q is [number, number] => typeof q[0] === 'number' && typeof q[1] === 'number');
  out['designer/gate arms: losses (max abs)'] = most((x, y) => x.losses.map((l, i) => Math.abs(l - (y.losses[i] as number))));
  out['designer V (max rel, |V| ≥ 0.01)'] = most((x, y) => pairs(x, y, 'designer', 'value').filter(([, v]) => Math.abs(v) >= 0.01).map(([u, v]) => rel(u, v)));
  out['designer V (max abs, |V| < 0.01)'] = most((x, y) => pairs(x, y, 'designer', 'value').filter(([, v]) => Math.abs(v) < 0.01).map(([u, v]) => Math.abs(u - v)));
  out['cos(g_down, g_pre) (max abs)'] = most((x, y) => pairs(x, y, 'designer', 'cos').map(([u, v]) => Math.abs(u - v)));
  out['gate α (max abs)'] = most((x, y) => pairs(x, y, 'alpha', 'alpha').map(([u, v]) => Math.abs(u - v)));
  out['probe predicted/realised (max rel L2)'] = most((x, y) =>
    points(x, 'probe').flatMap((p, i) => ['predicted', 'realised'].map((k) => relL2(p[k] as number[], points(y, 'probe')[i]?.[k] as number[]))));
  out['probe r (max abs)'] = most((x, y) => pairs(x, y, 'probe', 'r').map(([u, v]) => Math.abs(u - v)));
  for (const arm of ['baseline', 'v-pretraining']) {
    const [x, y] = [a.trajectories?.[arm], b.trajectories?.[arm]];
    if (x && y) out[`${arm} ${x.losses.length}-step losses (max abs)`] = Math.max(...x.losses.map((l, i) => Math.abs(l - (y.losses[i] as number))));
  }
  return out;
}

describe('WebGPU backend (Dawn; lavapipe in CI) against wasm', function () {
  let gpu: Side;
  let wasm: Side;

  before(async function () {
    const run = (backend: string) => tsx([join('test', 'agreement', 'run.ts'), backend, String(STEPS)]);
    const [g, w] = await Promise.all([run('webgpu'), run('wasm')]);
    const unavailable = g.exitCode === 3 ? /^@@unavailable (.*)$/m.exec(g.stdout)?.[1] : undefined;
    if (unavailable) {
      if (process.env.VPT_REQUIRE_WEBGPU === '1') throw new Error(`VPT_REQUIRE_WEBGPU=1 but ${unavailable}`);
      console.log(`      WEBGPU TESTS SKIPPED: ${unavailable}`);
      this.skip();
    }
    expect(g.exitCode, `webgpu side failed:\n${(g.all ?? '').slice(-3000)}`).to.equal(0);
    expect(w.exitCode, `wasm side failed:\n${(w.all ?? '').slice(-3000)}`).to.equal(0);
    gpu = parse<Side>(g.stdout, '@@agreement ') as Side;
    wasm = parse<Side>(w.stdout, '@@agreement ') as Side;
    const t = gpu.trajectories?.baseline;
    console.log(`      webgpu on ${gpu.engine.device}; quick-size trajectory ${t?.msPerStep.toFixed(0)} ms/step (wasm ${wasm.trajectories?.baseline?.msPerStep.toFixed(0)})`);
    const m = measured(gpu, wasm);
    console.log(`      measured differences (webgpu vs wasm): ${Object.entries(m).map(([k, v]) => `${k} ${typeof v === 'number' ? v.toExponential(1) : v}`).join(', ')}`);
    if (process.env.VPT_AGREEMENT_OUT) writeFileSync(process.env.VPT_AGREEMENT_OUT, JSON.stringify({ engine: gpu.engine, wasm: wasm.engine, measured: m, tolerance: TOLERANCE }, null, 2));
  });

  it('runs on the backend asked for and records the adapter (name, vendor, software or not)', () => {
    expect(gpu.engine.backend).to.equal('webgpu');
    expect(gpu.engine.adapter?.name).to.be.a('string').and.not.empty;
    expect(gpu.engine.adapter?.vendor).to.be.a('string');
    expect(gpu.engine.adapter?.software).to.be.a('boolean');
    expect(wasm.engine.backend).to.equal('wasm');
  });

  it('gives the loss, every gradient, g_down, V and ∇φV of a tiny model as wasm does', () => {
    const [a, b] = [gpu.tiny, wasm.tiny];
    expectRel(a.loss, b.loss, TOLERANCE.loss, 'loss');
    expectTensorsClose(a.gradients, b.gradients, TOLERANCE.tensor, 'gradient');
    expectRel(a.downLoss, b.downLoss, TOLERANCE.loss, 'downstream loss');
    expectTensorsClose(a.gDown, b.gDown, TOLERANCE.tensor, 'g_down');
    expect(relL2(a.D, b.D), 'D').to.be.lessThan(TOLERANCE.directional);
    expectRel(a.value, b.value, TOLERANCE.value.rel, 'V', TOLERANCE.value.abs);
    expectTensorsClose(a.valueGrad, b.valueGrad, TOLERANCE.valueGrad, '∇φV');
  });

  it('takes the same v-pretraining learner step with its meta step, trains the same, decodes the same text', () => {
    const [a, b] = [gpu.trainer, wasm.trainer];
    expectRel(a.metaLoss, b.metaLoss, TOLERANCE.loss, 'loss of the step');
    expectRel(a.metaGradNorm, b.metaGradNorm, TOLERANCE.loss, 'gradient norm of the step');
    expectRel(a.metaValue, b.metaValue, TOLERANCE.value.rel, 'V the meta step reports', TOLERANCE.value.abs);
    expectTensorsClose(a.afterMeta, b.afterMeta, TOLERANCE.tensor, 'parameters after the step');
    expect(a.trainCurve.length).to.equal(b.trainCurve.length);
    a.trainCurve.forEach((l, i) => expect(Math.abs(l - (b.trainCurve[i] as number)), `loss at log point ${i}`).to.be.lessThan(TOLERANCE.trajectory));
    expectRel(a.answerNll, b.answerNll, TOLERANCE.loss, 'answer NLL');
    expect(a.generations).to.deep.equal(b.generations);
    expect(new Set(a.generations).size, 'varied generations').to.be.greaterThan(1);
  });

  it(`runs the designer and gate arms as wasm does (${DESIGNER_ARMS.join(', ')}): losses, V, cos, gates, probe points, no leaks`, () => {
    for (const arm of DESIGNER_ARMS) {
      const [x, y] = [gpu.designerArms[arm] as ArmRun, wasm.designerArms[arm] as ArmRun];
      expect(x.leaked, `${arm}: tensors left after the cell on webgpu`).to.equal(0);
      expect(x.losses.length, arm).to.equal(y.losses.length);
      x.losses.forEach((l, i) => expect(Math.abs(l - (y.losses[i] as number)), `${arm} loss at log point ${i}`).to.be.lessThan(TOLERANCE.trajectory));
      expect(Object.keys(x.curves).sort(), `${arm} curves`).to.deep.equal(Object.keys(y.curves).sort());
      const usesDesigner = arm !== 'oracle-gate' && arm !== 'schedule-matched';
      expect(Object.keys(x.curves).sort(), `${arm} curves`).to.deep.equal(usesDesigner ? ['alpha', 'designer', 'probe'] : ['alpha']);
      const close = (u: unknown, v: unknown, tol: number, what: string, relative = false): void => {
        if (v === null || typeof v !== 'number') return void expect(u, what).to.equal(v);
        expect(u, what).to.be.a('number');
        if (relative) expectRel(u as number, v, tol, what);
        else expect(Math.abs((u as number) - v), `${what}: ${u} vs ${v}`).to.be.at.most(tol);
      };
      const curve = (k: string): [Record<string, unknown>, Record<string, unknown>][] => {
        const [p, q] = [(x.curves[k] ?? []) as Record<string, unknown>[], (y.curves[k] ?? []) as Record<string, unknown>[]];
        expect(p.length, `${arm} curves.${k} points`).to.equal(q.length);
        return p.map((u, i) => [u, q[i] as Record<string, unknown>]);
      };
      for (const [p, q] of curve('alpha')) {
        expect(p.step).to.equal(q.step);
        close(p.alpha, q.alpha, TOLERANCE.gate, `${arm} α at step ${q.step}`);
      }
      for (const [p, q] of curve('designer')) {
        const at = `${arm} designer point at step ${q.step}`;
        expect([p.step, p.updates], at).to.deep.equal([q.step, q.updates]);
        for (const f of ['value', 'valueAfter']) {
          if (q[f] === null) expect(p[f], `${at} ${f}`).to.equal(null);
          else expectRel(p[f] as number, q[f] as number, TOLERANCE.value.rel, `${at} ${f}`, TOLERANCE.value.abs);
        }
        close(p.cos, q.cos, TOLERANCE.cos, `${at} cos`);
        for (const f of ['gate', 'gateWrong', 'gateOther']) close(p[f], q[f], TOLERANCE.gate, `${at} ${f}`);
      }
      for (const [p, q] of curve('probe')) {
        const at = `${arm} probe after step ${q.step}`;
        expect(p.step, at).to.equal(q.step);
        for (const f of ['updateNorm', 'eta']) close(p[f], q[f], TOLERANCE.probe, `${at} ${f}`, true);
        for (const f of ['predicted', 'realised']) expect(relL2(p[f] as number[], q[f] as number[]), `${at} ${f}`).to.be.lessThan(TOLERANCE.probe);
        for (const f of ['r', 'slope', 'rFirstOrder', 'slopeFirstOrder']) close(p[f], q[f], TOLERANCE.probeFit, `${at} ${f}`);
      }
      const [d, e] = [x.diagnostics, y.diagnostics];
      expect(Object.keys(d).sort(), `${arm} diagnostics`).to.deep.equal(Object.keys(e).sort());
      for (const k of ['meta_steps', 'designer_updates']) expect(d[k], `${arm} ${k}`).to.equal(e[k]);
      if (e.value_mean !== undefined) expectRel(d.value_mean as number, e.value_mean, TOLERANCE.value.rel, `${arm} value_mean`, TOLERANCE.value.abs);
      for (const k of ['gate_mean', 'gate_wrong', 'gate_other']) close(d[k], e[k], TOLERANCE.gate, `${arm} ${k}`);
      for (const k of ['probe_r', 'probe_slope', 'probe_r_first_order']) if (k in e) close(d[k], e[k], TOLERANCE.probeFit, `${arm} ${k}`);
    }
  });

  it(`follows wasm's loss trajectory over ${STEPS} steps at the quick suite's parameter count (baseline and v-pretraining)`, function () {
    if (STEPS === 0) this.skip();
    const [a, b] = [gpu.trajectories!, wasm.trajectories!];
    expect(a.params).to.equal(b.params);
    for (const arm of ['baseline', 'v-pretraining']) {
      const [x, y] = [a[arm]!, b[arm]!];
      expect(x.losses.length, arm).to.equal(STEPS);
      x.losses.forEach((l, i) => expect(Math.abs(l - (y.losses[i] as number)), `${arm} loss at step ${i}`).to.be.lessThan(TOLERANCE.trajectory));
      expect(x.losses[STEPS - 1], `${arm} learns`).to.be.lessThan(x.losses[0] as number);
      (x.values ?? []).forEach((v, i) => expectRel(v, y.values?.[i] as number, TOLERANCE.value.rel, `${arm} V at meta step ${i}`, TOLERANCE.value.abs));
    }
  });

  it('keeps the tensor count flat across training steps on WebGPU', function () {
    if (STEPS < 6) this.skip();
    for (const arm of ['baseline', 'v-pretraining']) {
      const counts = gpu.trajectories![arm]!.tensors;
      expect(counts[counts.length - 1], `${arm}: ${counts.join(' ')}`).to.equal(counts[4]);
    }
  });

  it('trains to the same bits twice from one seed; splits an addN past the device limit; a device error fails the next read', async () => {
    const r = await tsx([join('test', 'agreement', 'device-checks.ts')]);
    expect(r.exitCode, r.all).to.equal(0);
    const out = parse<{ deterministic: boolean; n: number; splitSum: number[]; unsplit: { error?: string; values?: number[] }; engine: Side['engine'] }>(r.stdout, '@@device-checks ')!;
    expect(out.deterministic, 'same seed, same parameters').to.equal(true);
    expect(out.splitSum).to.deep.equal(Array(4).fill((out.n * (out.n + 1)) / 2));
    if (out.n + 1 > (out.engine.adapter?.maxStorageBuffersPerShaderStage ?? 0)) {
      expect(out.unsplit.error).to.match(/^DeviceError: WebGPU device error on .*storage buffers/);
    }
  });

  it('auto takes WebGPU only on a hardware adapter', async () => {
    const r = await tsx([join('test', 'agreement', 'auto.ts')]);
    const auto = parse<Side['engine']>(r.stdout, '@@auto ');
    expect(auto, r.all).to.not.equal(undefined);
    if (gpu.engine.adapter?.software) expect(auto!.backend).to.not.equal('webgpu');
    else expect(auto!.backend).to.equal('webgpu');
  });

  it('runs a suite end to end with --backend webgpu: a wall-clock budget calibrated on the adapter, the adapter in every cell, a wasm calibration refused', async function () {
    const dir = tmp();
    const suite = join(REPO_ROOT, 'test', 'fixtures', 'micro.suite.ts');
    // One row on a wall-clock budget: the calibration runs (one arm), then one cell of the steps it plans.
    const sets = ['--set', 'arms=[{"arm":"v-pretraining","budget":{"kind":"seconds","seconds":2}}]', '--set', 'seeds=[1]', '--backend', 'webgpu', '--cache', join(dir, 'cache')];
    const out = join(dir, 'run');
    const r = await vpt(['run', suite, ...sets, '--out', out]);
    expect(r.exitCode, r.stderr).to.equal(0);
    const cal = JSON.parse(readFileSync(join(out, 'calibration.json'), 'utf8'));
    expect(cal.engine.backend).to.equal('webgpu');
    expect(cal.engine.adapter).to.deep.equal(gpu.engine.adapter);
    const cell = JSON.parse(readFileSync(join(out, 'cells', 'v-pretraining', 'seed-1', 'cell.json'), 'utf8'));
    expect(cell.status).to.equal('completed');
    expect(cell.engine).to.deep.equal(gpu.engine);
    expect(cell.steps.planned).to.equal(cell.budget.steps).and.to.be.at.least(1);
    expect(readFileSync(join(out, 'summary.md'), 'utf8')).to.contain(`backend webgpu on ${gpu.engine.device}`);
    // A calibration measured on wasm would plan other step counts: refused before anything trains.
    const wasmCal = join(dir, 'wasm.calibration.json');
    writeFileSync(wasmCal, JSON.stringify({ ...cal, engine: wasm.engine }));
    const refused = await vpt(['run', suite, ...sets, '--out', join(dir, 'refused'), '--calibration', wasmCal]);
    expect(refused.exitCode).to.equal(2);
    // (Dawn may print its own warnings on stderr before vpt's line.)
    expect(refused.stderr.trim()).to.match(/^vpt: .*wasm\.calibration\.json: cannot plan this run's steps: it was measured on backend wasm, this run uses webgpu \(--force-calibration uses it anyway\)$/m);
  });
});
