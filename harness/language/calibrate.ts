/**
 * Per-step cost of a language arm for wall-clock budgets: the arm's real learner step (targets, and for
 * designer arms the meta step at its cadence) on the suite's base checkpoint, data, batch and model, timed by
 * tinybench over whole cadence cycles of `design.metaEvery` steps, warm-up cycles excluded.
 */
import type * as tf from '@tensorflow/tfjs';
import { Bench } from 'tinybench';
import { armRegistry } from './arms/index.js';
import type { ReadRecord } from './arms/types.js';
import { splitValidation, type Gsm8kItem } from './data/gsm8k.js';
import { packDocs } from './data/pack.js';
import { loadData } from './data/sources.js';
import { readScalar } from '../engine/read.js';
import { Rng } from '../engine/rng.js';
import { baseDir } from './train/base.js';
import { BatchSampler, disposeBatch, toTensors } from './train/batches.js';
import { LanguageModel } from './model/model.js';
import { AdamW } from '../optim/adamw.js';
import { learnerStep } from './train/trainer.js';
import { summariseCosts, type ArmCost } from '../bench/step-cost.js';
import type { LanguageSuite } from './schema.js';

/** Measured cadence cycles (after `warmupCycles` untimed ones). Defaults 5 and 1. */
export interface CalibrateOptions {
  cycles?: number;
  warmupCycles?: number;
}

/**
 * What an arm that reads another cell (`schedule-matched` reads V-pretraining's per-step gate) is given while it
 * is timed: a constant α_max trajectory. Only the cost is measured, and it does not depend on the α values.
 */
export function costOnlyReads(s: LanguageSuite): ReadRecord {
  const alpha = Array.from({ length: s.train.steps }, (_, step) => ({ step, alpha: s.design.alphaMax }));
  return { file: '(calibration: constant α_max gate, timing only)', record: { curves: { alpha } } };
}

export async function measureLanguageStepCost(s: LanguageSuite, armName: string, cacheDir: string, o: CalibrateOptions = {}): Promise<ArmCost> {
  const arm = armRegistry.get(armName);
  const data = await loadData(s.data, cacheDir);
  const model = LanguageModel.load(baseDir(s, data, cacheDir));
  const rng = new Rng(0).fork('calibration');
  const { pool } = splitValidation(data.train, s.eval.downstream.size);
  const feedback = rng.fork('feedback').sample(pool.length, Math.min(s.design.feedbackSize, pool.length)).map((i) => pool[i] as Gsm8kItem);
  const rows = packDocs(model.tokenizer, data.cpt, s.model.blockSize);
  const reads = arm.reads === undefined ? undefined : costOnlyReads(s);
  const rule = arm.create({ model, design: s.design, rng: rng.fork('arm'), feedback, steps: s.train.steps, ...(reads ? { reads } : {}) });
  const opt = new AdamW({ ...s.train, totalSteps: s.train.steps }, model.vars);
  const sampler = new BatchSampler(rows, s.train.batchSize, rng.fork('data'));
  const r = s.design.metaEvery;
  // Steps counted from the burn-in, so each cycle holds exactly one meta step for a designer arm.
  let step = s.design.burnIn;
  // Each cycle ends with a read of its last loss and the rule's sync (as a log point does): on an asynchronous
  // device (WebGPU) a step returns once its work is queued, so only a read times the work itself; on wasm the
  // read costs microseconds.
  const cycle = async (): Promise<void> => {
    let last: tf.Scalar | undefined;
    for (let k = 0; k < r; k++) {
      const batch = toTensors(sampler.next());
      const { loss, gradNorm } = learnerStep(model, opt, batch, rule, step++);
      last?.dispose();
      last = loss;
      gradNorm.dispose();
      disposeBatch(batch);
    }
    try {
      if (last) await readScalar(last);
      await rule.sync?.();
    } finally {
      last?.dispose();
    }
  };
  try {
    const bench = new Bench({ iterations: o.cycles ?? 5, warmupIterations: o.warmupCycles ?? 1, time: 0, warmupTime: 0, retainSamples: true });
    bench.add(armName, cycle);
    await bench.run();
    const samples = (bench.tasks[0]?.result as { latency?: { samples?: number[] } } | undefined)?.latency?.samples ?? [];
    if (!samples.length) throw new Error(`calibration of '${armName}' recorded no timed cycle`);
    return summariseCosts(samples.map((ms) => ms / r), r);
  } finally {
    rule.dispose?.();
    opt.dispose();
    model.dispose();
  }
}
