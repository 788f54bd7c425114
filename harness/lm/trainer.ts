/**
 * The continued-pretraining loop shared by every arm: the arm's target rule builds detached targets q for the
 * batch, and the learner takes one AdamW step on the masked soft cross-entropy against q. Only the target rule
 * differs between arms, so "the learner's update is the ordinary self-supervised update" holds by construction.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/rng.js';
import type { TokenRows } from '../data/pack.js';
import { BatchSampler, disposeBatch, toTensors, type BatchTensors } from './batches.js';
import { forward, type Params } from './gpt.js';
import { softCrossEntropy } from './loss.js';
import type { LanguageModel } from './model.js';
import { AdamW, scheduledLr, type AdamWConfig } from './optim.js';

/** How an arm turns a batch into a prediction problem. */
export interface TargetRule {
  /** Detached targets [B*T, V] for this batch. Called inside tf.tidy; must not await. */
  targets(batch: BatchTensors, step: number): tf.Tensor2D;
  /** Work before the targets are built (the designer's meta step). Runs outside tidy and owns its memory. */
  beforeStep?(batch: BatchTensors, step: number): void;
  /** Scalars describing what the rule did over training (mean value, gate statistics, ...). */
  summary?(): Record<string, number>;
  dispose?(): void;
}

export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export interface TrainOptions {
  model: LanguageModel;
  rows: TokenRows;
  steps: number;
  batchSize: number;
  optim: AdamWConfig;
  rng: Rng;
  rule: TargetRule;
  /** Read scalars (a device sync) every this many steps. Default 10. */
  logEvery?: number;
  onLog?: (p: CurvePoint) => void;
}

export interface TrainResult {
  curve: CurvePoint[];
  /** Wall time of the loop, ms. */
  wallMs: number;
  msPerStep: number;
  tokensPerSecond: number;
}

/** One learner update on `batch` with targets `q` (detached). Returns [loss, gradNorm] tensors (kept). */
export function learnerStep(model: LanguageModel, opt: AdamW, batch: BatchTensors, q: tf.Tensor2D): [tf.Scalar, tf.Scalar] {
  return tf.tidy(() => {
    const names = Object.keys(model.vars);
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const p: Params = {};
      names.forEach((n, i) => (p[n] = xs[i] as tf.Tensor));
      return softCrossEntropy(forward(model.cfg, p, batch.ids), q, batch.mask);
    };
    const { value, grads } = tf.valueAndGrads(f)(names.map((n) => model.vars[n] as tf.Tensor));
    const g: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => (g[n] = grads[i] as tf.Tensor));
    const norm = opt.apply(g);
    return [tf.keep(value), norm] as [tf.Scalar, tf.Scalar];
  });
}

export function trainLM(o: TrainOptions): TrainResult {
  const logEvery = o.logEvery ?? 10;
  const opt = new AdamW(o.optim, o.model.vars);
  const sampler = new BatchSampler(o.rows, o.batchSize, o.rng);
  const curve: CurvePoint[] = [];
  const t0 = performance.now();
  try {
    for (let step = 0; step < o.steps; step++) {
      const batch = toTensors(sampler.next());
      try {
        o.rule.beforeStep?.(batch, step);
        const lr = scheduledLr(o.optim, opt.stepCount);
        const q = tf.tidy(() => o.rule.targets(batch, step));
        const [loss, norm] = learnerStep(o.model, opt, batch, q);
        q.dispose();
        if (step % logEvery === 0 || step === o.steps - 1) {
          const point = { step, loss: loss.dataSync()[0] as number, lr, gradNorm: norm.dataSync()[0] as number };
          curve.push(point);
          o.onLog?.(point);
        }
        loss.dispose();
        norm.dispose();
      } finally {
        disposeBatch(batch);
      }
    }
  } finally {
    opt.dispose();
  }
  const wallMs = performance.now() - t0;
  const tokens = o.steps * o.batchSize * o.rows.seqLen;
  return { curve, wallMs, msPerStep: wallMs / Math.max(1, o.steps), tokensPerSecond: (tokens / wallMs) * 1000 };
}
