/**
 * One benchmark case (run by ./worker.ts in a fresh process): build the configuration's model and data, train `warmup + steps`
 * learner steps of one arm through the product's own loop (`trainLM`), and print what it measured as one
 * JSON line. Designer arms run a meta step on every step (burn-in 0, r = 1) so each step times one; the
 * orchestrator folds them back in at the suite's cadence.
 */
import { armRegistry } from '../arms/index.js';
import { selectBackend, type BackendName, type EngineInfo } from '../engine/backend.js';
import { Rng } from '../engine/rng.js';
import { initParams } from '../lm/gpt.js';
import { LanguageModel } from '../lm/model.js';
import { trainLM } from '../lm/trainer.js';
import { benchData, type BenchConfig } from './cases.js';

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
}

/** What one worker measured (medians over its timed steps). */
export interface BenchRun {
  config: string;
  arm: string;
  engine: EngineInfo;
  vocabSize: number;
  params: number;
  tokensPerStep: number;
  /** Median learner step, meta step excluded. */
  learnerMs: number;
  /** Median target building inside a learner step. */
  targetMs: number;
  /** Median meta step; null for arms without a designer. */
  metaMs: number | null;
  /** The same two in process CPU time (what other load on the machine distorts least). */
  learnerCpuMs: number;
  metaCpuMs: number | null;
  steps: number;
  tfPeakBytes: number;
  rssPeakBytes: number;
}

export const RESULT_PREFIX = '@@bench ';

export function median(xs: readonly number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? (s[m] as number) : ((s[m - 1] as number) + (s[m] as number)) / 2;
}

export async function runBenchJob(job: BenchJob): Promise<BenchRun> {
  const engine = await selectBackend(job.backend);
  const c = job.config;
  const { tokenizer, vocabSize, rows, feedbackRows } = benchData(c);
  const cfg = { vocabSize, blockSize: c.model.blockSize, nLayer: c.model.nLayer, nHead: c.model.nHead, nEmbd: c.model.nEmbd };
  const rng = new Rng(job.seed);
  const model = LanguageModel.fromArrays(cfg, initParams(cfg, rng.fork('init')), tokenizer);
  const total = job.warmup + job.steps;
  const arm = armRegistry.get(job.arm);
  const rule = arm.create({
    model,
    design: { ...c.design, burnIn: 0, metaEvery: 1, probeBatches: 0 },
    rng: rng.fork('arm'),
    feedback: [],
    feedbackRows,
    steps: total,
  });
  try {
    const res = trainLM({
      model, rows, steps: total, batchSize: c.batchSize, rng: rng.fork('data'), rule, logEvery: total,
      optim: { ...c.optim, totalSteps: total },
    });
    const t = res.timing;
    const timed = <T>(xs: T[]): T[] => xs.slice(job.warmup);
    const meta = arm.usesDesigner ? timed(t.metaMs) : [];
    const metaCpu = arm.usesDesigner ? timed(t.metaCpuMs) : [];
    return {
      config: c.name,
      arm: job.arm,
      engine,
      vocabSize,
      params: Object.values(model.vars).reduce((a, v) => a + v.size, 0),
      tokensPerStep: c.batchSize * c.model.blockSize,
      learnerMs: median(timed(t.learnerMs)),
      targetMs: median(timed(t.targetMs)),
      metaMs: meta.length ? median(meta) : null,
      learnerCpuMs: median(timed(t.learnerCpuMs)),
      metaCpuMs: metaCpu.length ? median(metaCpu) : null,
      steps: job.steps,
      tfPeakBytes: res.memory.tfPeakBytes,
      rssPeakBytes: res.memory.rssPeakBytes,
    };
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}

