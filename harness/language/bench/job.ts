/**
 * One benchmark case (run by ./worker.ts in a fresh process): build the configuration's model and data, train `warmup + steps`
 * learner steps of one arm through the product's own loop (`trainLM`), and print what it measured as one
 * JSON line. Designer arms run a meta step on every step (burn-in 0, r = 1) so each step times one; the
 * orchestrator folds them back in at the suite's cadence. On WebGPU a step returns once its work is queued
 * and the meta step runs inside it, so each step is timed to its loss read instead, designer arms run a meta
 * step on every second step, and the meta step's time is the difference of the medians of those and the others.
 */
import type { TrainerEngineInfo } from '../../results/schema.js';
import { DesignerRule, type MetaParts } from '../arms/designer-arms.js';
import { armRegistry } from '../arms/index.js';
import { selectBackend, type BackendName, type EngineInfo } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import * as tf from '@tensorflow/tfjs';
import type { TokenRows } from '../data/pack.js';
import { BatchSampler, disposeBatch, toTensors } from '../train/batches.js';
import { initParams } from '../model/gpt.js';
import { AdamW } from '../../optim/adamw.js';
import { LanguageModel } from '../model/model.js';
import { trainShardedLM } from '../train/sharded.js';
import { learnerStep, trainLM, type TargetRule } from '../train/trainer.js';
import { benchData, type BenchConfig } from './cases.js';
import { countMacs, type StepWork } from '../../bench/work.js';

/** What the orchestrator asks one worker to run. */
export interface BenchJob {
  config: BenchConfig;
  arm: string;
  /** Timed learner steps. */
  steps: number;
  /** Untimed steps first (JIT, heap growth, operator caches). */
  warmup: number;
  seed: number;
  backend?: BackendName;
  /** Also profile this many learner steps kernel by kernel (tf.profile). Default 0. */
  profileSteps?: number;
  /** Also count the work of the arm's steps (multiply-adds: shapes, not times, so one run per case is enough). Default false. */
  countWork?: boolean;
}

/** One kernel's share of a profiled learner step. */
export interface KernelTime {
  /** Kernel name; matMuls also carry their input shapes. */
  name: string;
  /** Median ms per learner step over the profiled steps. */
  ms: number;
  /** Calls per learner step. */
  calls: number;
}

/** What one worker measured (medians over its timed steps). */
export interface BenchRun {
  config: string;
  arm: string;
  /** The tfjs backend, or the torch engine (`vpt bench --trainer torch`). */
  engine: EngineInfo | TrainerEngineInfo;
  vocabSize: number;
  params: number;
  tokensPerStep: number;
  /** Median learner step, meta step excluded. */
  learnerMs: number;
  /** Median target building inside a learner step. */
  targetMs: number;
  /** Median meta step; null for arms without a designer. */
  metaMs: number | null;
  /** Median of each piece of a meta step (wall ms; absent on WebGPU and for arms without a designer). */
  metaParts?: MetaParts;
  /** The same two in process CPU time (what other load on the machine distorts least). */
  learnerCpuMs: number;
  metaCpuMs: number | null;
  steps: number;
  tfPeakBytes: number;
  rssPeakBytes: number;
  /** Per-kernel times of a learner step (only when profiled), largest first. */
  kernels?: KernelTime[];
  /** Median wall ms of a profiled step (profiling adds its own overhead). */
  profiledStepMs?: number;
  /** Multiply-adds of a learner step, a meta step and g_down (when the job asked; never for the base stage). */
  work?: StepWork;
  /** The torch engine's count of a learner step's FLOPs, and its model FLOPs utilisation on CUDA (else null). */
  flopsPerStep?: number;
  mfu?: number | null;
}

export const RESULT_PREFIX = '@@bench ';

/** Pseudo-arm: the base stage's sharded next-token training (./../lm/sharded.ts), beside the one-thread baseline. */
export const BASE_STAGE = 'base stage (2 threads)';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

/** Each meta-step piece's median over `ps`; undefined when there are none. */
export function medianParts(ps: readonly MetaParts[]): MetaParts | undefined {
  if (ps.length === 0) return undefined;
  return {
    gDownMs: median(ps.map((x) => x.gDownMs)),
    directionalMs: median(ps.map((x) => x.directionalMs)),
    designerMs: median(ps.map((x) => x.designerMs)),
  };
}

export async function runBenchJob(job: BenchJob): Promise<BenchRun> {
  const engine = await selectBackend(job.backend);
  const c = job.config;
  const { tokenizer, vocabSize, rows, feedbackRows } = benchData(c);
  const cfg = { vocabSize, blockSize: c.model.blockSize, nLayer: c.model.nLayer, nHead: c.model.nHead, nEmbd: c.model.nEmbd };
  const rng = new Rng(job.seed);
  const model = LanguageModel.fromArrays(cfg, initParams(cfg, rng.fork('init')), tokenizer);
  const stage = job.arm === BASE_STAGE;
  const arm = stage ? undefined : armRegistry.get(job.arm);
  const asyncDevice = engine.backend === 'webgpu';
  const alternate = asyncDevice && arm?.usesDesigner === true;
  const total = job.warmup + (alternate ? 2 : 1) * job.steps;
  const rule = (arm ?? armRegistry.get('baseline')).create({
    model,
    design: { ...c.design, burnIn: 0, metaEvery: alternate ? 2 : 1, probeBatches: 0 },
    rng: rng.fork('arm'),
    feedback: [],
    feedbackRows,
    steps: total,
  });
  try {
    const common = { model, rows, steps: total, batchSize: c.batchSize, rng: rng.fork('data'), logEvery: total, optim: { ...c.optim, totalSteps: total } };
    // The base stage trains the baseline's loss in two shards, the second on a worker thread.
    const res = stage ? await trainShardedLM(common) : await trainLM({ ...common, rule, syncEveryStep: asyncDevice });
    const t = res.timing;
    const prof = job.profileSteps ? await profileSteps(model, rows, c, rule, job.profileSteps, rng.fork('profile')) : undefined;
    const work = !stage && job.countWork ? await countWork(model, rows, feedbackRows, c, job.arm, rng.fork('work')) : undefined;
    const timed = <T>(xs: T[]): T[] => xs.slice(job.warmup);
    let meta = arm?.usesDesigner ? timed(t.metaMs) : [];
    const metaCpu = arm?.usesDesigner ? timed(t.metaCpuMs) : [];
    let learner = timed(t.learnerMs);
    if (alternate) {
      // Steps with and without a meta step, each timed to its loss read: the meta step is the difference.
      const isMeta = new Set(t.metaSteps);
      const steps = t.stepMs.map((ms, i) => ({ ms, i })).slice(job.warmup);
      learner = steps.filter((x) => !isMeta.has(x.i)).map((x) => x.ms);
      meta = [median(steps.filter((x) => isMeta.has(x.i)).map((x) => x.ms)) - median(learner)];
    }
    const parts = rule instanceof DesignerRule ? medianParts(timed(rule.metaParts)) : undefined;
    return {
      config: c.name,
      arm: job.arm,
      engine,
      vocabSize,
      params: Object.values(model.vars).reduce((a, v) => a + v.size, 0),
      tokensPerStep: c.batchSize * c.model.blockSize,
      learnerMs: median(learner),
      targetMs: median(timed(t.targetMs)),
      metaMs: meta.length ? median(meta) : null,
      learnerCpuMs: median(timed(t.learnerCpuMs)),
      metaCpuMs: metaCpu.length ? median(metaCpu) : null,
      steps: job.steps,
      tfPeakBytes: res.memory.tfPeakBytes,
      rssPeakBytes: res.memory.rssPeakBytes,
      ...(parts ? { metaParts: parts } : {}),
      ...(prof ? { kernels: prof.kernels, profiledStepMs: prof.stepMs } : {}),
      ...(work ? { work } : {}),
    };
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}


/** Meta steps and g_down batches counted per run (their shapes vary with the batch's answer rows and lengths). */
const WORK_SAMPLES = 3;

/**
 * The work of an arm's steps after the timed ones, from a fresh rule of the arm whose first step has no meta step
 * (burn-in 1) and whose later ones each have one: a learner step, the mean meta step (a step with a meta step less the
 * step without, on the same batch), and the mean g_down of the rule's own next feedback batches.
 */
async function countWork(model: LanguageModel, rows: TokenRows, feedbackRows: TokenRows, c: BenchConfig, armName: string, rng: Rng): Promise<StepWork> {
  const arm = armRegistry.get(armName);
  const rule = arm.create({
    model, design: { ...c.design, burnIn: 1, metaEvery: 1, probeBatches: 0 }, rng: rng.fork('arm'), feedback: [], feedbackRows, steps: 1 + WORK_SAMPLES,
  });
  const opt = new AdamW({ ...c.optim, totalSteps: 1 + WORK_SAMPLES }, model.vars);
  const batch = toTensors(new BatchSampler(rows, c.batchSize, rng.fork('data')).next());
  const step = (s: number): Promise<number> => countMacs(() => {
    const r = learnerStep(model, opt, batch, rule, s);
    tf.dispose([r.loss, r.gradNorm]);
  });
  const mean = (xs: number[]): number => xs.reduce((a, x) => a + x, 0) / xs.length;
  try {
    const learner = await step(0);
    if (!(rule instanceof DesignerRule)) return { learner, meta: null, gDown: null, feedbackBatch: null };
    const withMeta: number[] = [];
    for (let s = 1; s <= WORK_SAMPLES; s++) withMeta.push(await step(s));
    const gDown: number[] = [];
    for (let s = 0; s < WORK_SAMPLES; s++) gDown.push(await countMacs(() => tf.dispose(Object.values(rule.gDown()))));
    return { learner, meta: mean(withMeta) - learner, gDown: mean(gDown), feedbackBatch: Math.min(c.design.feedbackBatch, feedbackRows.rows) };
  } finally {
    disposeBatch(batch);
    opt.dispose();
    rule.dispose?.();
  }
}

/** Kernel names that wrap other kernels (custom gradients, op scopes): left out so nothing is counted twice. */
function isWrapper(name: string): boolean {
  return name === 'forward' || name === 'unnamed scope' || name.endsWith('__op');
}

/** Profiles `steps` learner steps (after the timed ones) kernel by kernel: median ms and calls per step. */
async function profileSteps(model: LanguageModel, rows: TokenRows, c: BenchConfig, rule: TargetRule, steps: number, rng: Rng): Promise<{ kernels: KernelTime[]; stepMs: number }> {
  const opt = new AdamW({ ...c.optim, totalSteps: 1000 }, model.vars);
  const sampler = new BatchSampler(rows, c.batchSize, rng);
  const per = new Map<string, { ms: number[]; calls: number }>();
  const wall: number[] = [];
  try {
    for (let s = 0; s < steps; s++) {
      const batch = toTensors(sampler.next());
      const t0 = performance.now();
      const p = await tf.profile(() => {
        const r = learnerStep(model, opt, batch, rule, 1);
        tf.dispose([r.loss, r.gradNorm]);
      });
      wall.push(performance.now() - t0);
      disposeBatch(batch);
      const step = new Map<string, { ms: number; calls: number }>();
      for (const k of p.kernels) {
        if (isWrapper(k.name)) continue;
        const name = k.name.includes('MatMul') ? `${k.name} ${k.inputShapes.map((x) => JSON.stringify(x)).join(' @ ')}` : k.name;
        const e = step.get(name) ?? { ms: 0, calls: 0 };
        e.ms += k.kernelTimeMs as number;
        e.calls += 1;
        step.set(name, e);
      }
      for (const [name, e] of step) {
        const acc = per.get(name) ?? { ms: [], calls: e.calls };
        acc.ms.push(e.ms);
        per.set(name, acc);
      }
    }
  } finally {
    opt.dispose();
  }
  const kernels = [...per].map(([name, e]) => ({ name, ms: median(e.ms), calls: e.calls })).sort((a, b) => b.ms - a.ms);
  return { kernels, stepMs: median(wall) };
}
