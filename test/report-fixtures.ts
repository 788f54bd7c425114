/**
 * Small, hand-chosen result folders for the report and regression tests (no training): a language suite
 * in the ablation's shape with designer and downstream curves, failures and an arm with one seed, and a
 * vision-like suite with other metric keys. The numbers are fixed literals so goldens and hand-worked
 * checks can rely on them.
 */
import { join } from 'node:path';
import { writeJsonAtomic } from '../harness/results/atomic.js';

export const FIXTURE_PROVENANCE = {
  harnessVersion: '9.9.9',
  gitSha: '0123456789abcdef0123456789abcdef01234567',
  configHash: 'cfg0fixture00001',
};

type Metrics = Record<string, { value: number; stderr: number; n: number }>;

export interface FixtureCell {
  armId: string;
  arm: string;
  seed: number;
  status?: 'completed' | 'errored' | 'timedout';
  metrics?: Metrics;
  higherIsBetter?: Record<string, boolean>;
  diagnostics?: Record<string, number | null>;
  timings?: Record<string, number>;
  memory?: { tfPeakBytes?: number; rssPeakBytes?: number };
  curves?: Record<string, unknown[]>;
  engine?: { backend: string; tfjsVersion: string; device: string };
  error?: string;
}

export const ENGINE = { backend: 'wasm', tfjsVersion: '4.22.0', device: 'Test CPU (2 cores), 1 thread per process' };

/** A full cell.json record for a fixture cell of `suite`. */
export function cellJson(suite: string, c: FixtureCell, over: Record<string, unknown> = {}): Record<string, unknown> {
  const status = c.status ?? 'completed';
  const id = `${suite}/${c.armId}/seed-${c.seed}`;
  if (status !== 'completed') {
    // What the runner records when a worker dies: identity, status and error only.
    return { id, suite, arm: c.arm, armId: c.armId, seed: c.seed, configHash: FIXTURE_PROVENANCE.configHash, status, error: c.error ?? 'Error: boom\n    at stack', metrics: {}, finishedAt: '2025-01-01T00:00:00.000Z', ...over };
  }
  return {
    schemaVersion: 1,
    ...FIXTURE_PROVENANCE,
    dataHashes: { train: 'd1', test: 'd2', cpt: 'd3' },
    evalVersions: { gsm8k: 1 },
    armVersion: 1,
    suite,
    arm: c.arm,
    armId: c.armId,
    seed: c.seed,
    id,
    status,
    metrics: c.metrics ?? {},
    higherIsBetter: c.higherIsBetter ?? {},
    diagnostics: c.diagnostics ?? {},
    engine: c.engine ?? ENGINE,
    steps: { planned: 50, done: 50 },
    timings: c.timings ?? { trainMs: 5000, evalMs: 1000, msPerStep: 100, tokensPerSecond: 15360, totalMs: 6500 },
    ...(c.memory ? { memory: c.memory } : {}),
    config: { baseHash: 'basefixture' },
    curves: c.curves ?? {},
    startedAt: '2025-01-01T00:00:00.000Z',
    finishedAt: '2025-01-01T00:01:00.000Z',
    ...over,
  };
}

/** Writes suite.json and every cell under `dir` the way `vpt run` lays them out. */
export function writeResults(dir: string, suite: Record<string, unknown>, cells: readonly FixtureCell[], over: (c: FixtureCell) => Record<string, unknown> = () => ({})): void {
  writeJsonAtomic(join(dir, 'suite.json'), { configHash: FIXTURE_PROVENANCE.configHash, suite });
  for (const c of cells) writeJsonAtomic(join(dir, 'cells', c.armId, `seed-${c.seed}`, 'cell.json'), cellJson(suite.name as string, c, over(c)));
}

const LM_HIB = { 'pass@1,strict-match': true, 'pass@1,flexible-extract': true, 'answer_nll,none': false };

/** pass@1 strict, pass@1 flexible, answer NLL per arm and seed (n = 100 problems). */
const LM_VALUES: Record<string, Record<number, [number, number, number]>> = {
  baseline: { 1: [0.2, 0.24, 1.5], 2: [0.22, 0.25, 1.48], 3: [0.18, 0.2, 1.52] },
  'v-pretraining': { 1: [0.26, 0.3, 1.41], 2: [0.27, 0.29, 1.4], 3: [0.24, 0.27, 1.44] },
  'random-feedback': { 1: [0.19, 0.22, 1.53], 2: [0.2, 0.23, 1.5], 3: [0.17, 0.21, 1.55] },
  'uniform-topk': { 1: [0.21, 0.24, 1.49], 2: [0.2, 0.22, 1.5], 3: [0.19, 0.23, 1.51] },
  'self-distill': { 1: [0.23, 0.25, 1.46], 2: [0.24, 0.28, 1.45] },
  'baseline+decontam': { 1: [0.19, 0.21, 1.51], 2: [0.21, 0.24, 1.5], 3: [0.17, 0.2, 1.53] },
  'v-pretraining+decontam': { 1: [0.25, 0.27, 1.43] },
};

const LM_ARMS = [
  { arm: 'baseline', decontaminate: false },
  { arm: 'v-pretraining', decontaminate: false },
  { arm: 'random-feedback', decontaminate: false },
  { arm: 'uniform-topk', decontaminate: false },
  { arm: 'self-distill', decontaminate: false },
  { arm: 'baseline', decontaminate: true },
  { arm: 'v-pretraining', decontaminate: true },
];

export const LM_SUITE = { name: 'fixture-lm', description: 'report fixture', seeds: [1, 2, 3], arms: LM_ARMS };

const stderrOf = (p: number, n: number): number => Math.sqrt((p * (1 - p)) / n);

function curvesFor(armIndex: number, arm: string, seed: number): Record<string, unknown[]> {
  const steps = [0, 10, 20, 30, 40, 50];
  const train = steps.map((s) => ({ step: s, loss: +(3.2 - 0.02 * s * (1 + 0.04 * armIndex) + 0.03 * seed).toFixed(4), lr: 1e-3, gradNorm: 1 }));
  const downstream = steps.map((s) => ({ step: s, nll: +(1.6 - 0.002 * s * (1 + 0.1 * armIndex) + 0.01 * seed).toFixed(4) }));
  const out: Record<string, unknown[]> = { train, downstream };
  if (arm === 'v-pretraining' || arm === 'random-feedback') {
    const sign = arm === 'v-pretraining' ? 1 : -0.2;
    out.designer = [8, 16, 24, 32, 40, 48].map((s, i) => ({
      step: s,
      value: +(sign * (0.001 + 0.0004 * i) + 0.0001 * seed).toFixed(6),
      cos: +(sign * 0.05 * (i + 1)).toFixed(4),
      gate: +(0.1 + (sign > 0 ? 0.03 : 0.01) * i + 0.01 * seed).toFixed(4),
      gateWrong: +(0.12 + (sign > 0 ? 0.04 : 0.01) * i + 0.01 * seed).toFixed(4),
      gateOther: +(0.09 + (sign > 0 ? 0.025 : 0.01) * i + 0.01 * seed).toFixed(4),
    }));
    out.probe = [24, 49].map((s, i) => ({ step: s, r: +(0.3 + 0.1 * i + 0.02 * seed).toFixed(3), slope: 0.8, rFirstOrder: 0.999 }));
  }
  return out;
}

export function lmCells(): FixtureCell[] {
  const cells: FixtureCell[] = [];
  LM_ARMS.forEach((a, ai) => {
    const armId = a.decontaminate ? `${a.arm}+decontam` : a.arm;
    const designer = a.arm === 'v-pretraining' || a.arm === 'random-feedback';
    for (const seed of [1, 2, 3]) {
      const v = LM_VALUES[armId]?.[seed];
      if (!v) {
        cells.push({ armId, arm: a.arm, seed, status: seed === 3 && armId === 'self-distill' ? 'timedout' : 'errored', error: 'Error: worker died\n    at somewhere' });
        continue;
      }
      cells.push({
        armId,
        arm: a.arm,
        seed,
        metrics: {
          'pass@1,strict-match': { value: v[0], stderr: stderrOf(v[0], 100), n: 100 },
          'pass@1,flexible-extract': { value: v[1], stderr: stderrOf(v[1], 100), n: 100 },
          'answer_nll,none': { value: v[2], stderr: 0.05, n: 100 },
        },
        higherIsBetter: LM_HIB,
        diagnostics: designer
          ? { value_mean: arm2(0.0021 + 0.0001 * seed, a.arm), probe_r: 0.4 + 0.05 * seed, probe_eta: 0.01, gate_mean: 0.2 + 0.01 * seed, meta_share_of_time: 0.2 + 0.01 * seed, base_answer_nll: null }
          : { base_answer_nll: null },
        timings: { trainMs: 5000 + 100 * seed, evalMs: 1000 + 10 * seed, msPerStep: (designer ? 130 : 100) + seed, tokensPerSecond: Math.round(15360 / ((designer ? 1.3 : 1) + seed / 100)), totalMs: 6500 },
        memory: { tfPeakBytes: (designer ? 60 : 50) * 1024 * 1024 + seed * 1024, rssPeakBytes: (designer ? 400 : 380) * 1024 * 1024 },
        curves: curvesFor(ai, a.arm, seed),
      });
    }
  });
  return cells;
}

function arm2(x: number, arm: string): number {
  return arm === 'v-pretraining' ? +x.toFixed(6) : +(-x / 5).toFixed(6);
}

export function writeLmResults(dir: string): void {
  writeResults(dir, LM_SUITE, lmCells());
}

/**
 * A vision-like suite: mIoU (↑), pixel accuracy (↑), RMSE (↓), AbsRel (↓), δ1 (↑), top-1 (↑), in the order the
 * vision task records them; no designer or downstream curves; no memory.
 */
export const VISION_SUITE = { name: 'fixture-vision', seeds: [1, 2], arms: [{ arm: 'baseline', decontaminate: false }, { arm: 'v-pretraining', decontaminate: false }] };

export function visionCells(): FixtureCell[] {
  const vals: Record<string, [number, number, number, number, number, number][]> = {
    baseline: [[0.4812, 0.7710, 0.5888, 0.1712, 0.7391, 0.8074], [0.4790, 0.7698, 0.5901, 0.1720, 0.7385, 0.8060]],
    'v-pretraining': [[0.4968, 0.7802, 0.5697, 0.1655, 0.7502, 0.8101], [0.4950, 0.7790, 0.5712, 0.1661, 0.7490, 0.8095]],
  };
  return Object.entries(vals).flatMap(([arm, rows]) =>
    rows.map((v, i) => ({
      armId: arm,
      arm,
      seed: i + 1,
      metrics: {
        'miou,none': { value: v[0], stderr: 0.004, n: 500 },
        'pixel_acc,none': { value: v[1], stderr: 0.003, n: 500 },
        'rmse,none': { value: v[2], stderr: 0.006, n: 654 },
        'absrel,none': { value: v[3], stderr: 0.002, n: 654 },
        'delta1,none': { value: v[4], stderr: 0.004, n: 654 },
        'top1,none': { value: v[5], stderr: 0.002, n: 5000 },
      },
      higherIsBetter: { 'miou,none': true, 'pixel_acc,none': true, 'rmse,none': false, 'absrel,none': false, 'delta1,none': true, 'top1,none': true },
      timings: { trainMs: 9000, evalMs: 2000, msPerStep: 90 + i, totalMs: 11000 },
      curves: { train: [0, 5, 10].map((s) => ({ step: s, loss: 5 - 0.1 * s - 0.01 * i, lr: 1e-3, gradNorm: 1 })) },
    })),
  );
}

export function writeVisionResults(dir: string): void {
  writeResults(dir, VISION_SUITE, visionCells());
}
