/**
 * The continued-pretraining loop shared by every arm. Each learner step runs ONE forward pass; the arm's
 * target rule builds its targets q from detached views of that same forward (so targets carry no gradient),
 * and the learner takes one AdamW step on the masked soft cross-entropy against q. Only the target rule
 * differs between arms, so "the learner's update is the ordinary self-supervised update" holds by construction.
 */
import type { CurvePoint } from '../../results/schema.js';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../engine/rng.js';
import type { TokenRows } from '../data/pack.js';
import { detach, withoutTape } from '../../engine/ops.js';
import { readScalars } from '../../engine/read.js';
import { BatchSampler, disposeBatch, toTensors, type BatchTensors } from './batches.js';
import { forward, forwardFrom, hiddenBelow, isDecoder, type GptConfig, type Params } from '../model/gpt.js';
import { TIED_EMBEDDING, TIED_HEAD } from '../model/decoder.js';
import { softCrossEntropy } from '../model/loss.js';
import type { LanguageModel } from '../model/model.js';
import { AdamW, scheduledLr, type AdamWConfig } from '../../optim/adamw.js';

/**
 * What a target rule sees of the learner's forward pass on the batch: detached tensors (no gradient flows
 * back through anything built from them), valid only during the call they are passed to.
 */
export interface ForwardView {
  /** Learner logits [B*T, V]: the values the update differentiates, detached. */
  logits: tf.Tensor2D;
  /** Hidden state [B*T, D] entering block `TargetRule.hiddenAt`, detached; present only if the rule asks. */
  hidden?: tf.Tensor2D;
}

/** How an arm turns a batch into a prediction problem. */
export interface TargetRule {
  /**
   * Detached targets [B*T, V] for this batch, built from `view` (the step's own forward). Runs inside the
   * learner step's forward (under tf.tidy and the gradient tape); must not await, must not read `view` later.
   */
  targets(batch: BatchTensors, step: number, view: ForwardView): tf.Tensor2D;
  /** Block whose input hidden state the rule wants in `view.hidden` (the designer's S boundary). Default none. */
  hiddenAt?: number;
  /**
   * Work on `view` that every step's targets need and a meta step reuses (the designer's candidates), run
   * before the meta step and timed as target building, so a meta step's time holds only what it adds.
   */
  prepare?(batch: BatchTensors, view: ForwardView): void;
  /**
   * The designer's meta step, run after the learner's forward and before `targets` on the same view (so the
   * targets use the updated φ). Returns true when it did a designer update on this step. Runs inside the
   * learner step (tidy, tape); it may take gradients of its own and must not await.
   */
  metaStep?(batch: BatchTensors, step: number, view: ForwardView): boolean;
  /**
   * Sees the learner's gradient of this step (every parameter, before clipping and the update), e.g. to
   * measure cos(g_down, g_pre) on S at no extra cost. Runs inside the learner step (tidy); must not keep
   * the tensors nor await (a value it derives stays on the device, kept, until `sync`).
   */
  afterGradients?(grads: Readonly<Record<string, tf.Tensor>>, step: number): void;
  /**
   * Runs after the learner's update of `step`, outside the learner step (the probe steps here); the trainer
   * awaits a returned promise, so it may read the device. Time spent here is measurement: the rule reports it
   * as `summary().measure_ms` and the cell takes it out of training time.
   */
  afterStep?(step: number): void | Promise<void>;
  /**
   * Reads what the rule keeps on the device between steps (each meta step's value, the gate sums, ...) into
   * host numbers. The trainer awaits it at every log point and after the last step, outside any step: inside a
   * step nothing may await, and WebGPU has no synchronous read.
   */
  sync?(): Promise<void>;
  /** Scalars describing what the rule did over training (mean value, gate statistics, ...). */
  summary?(): Record<string, number> | Promise<Record<string, number>>;
  /** Curves over training for cell.json (`designer`, `alpha`, `probe`, ...), read after training. */
  curves?(): Record<string, unknown[]> | Promise<Record<string, unknown[]>>;
  dispose?(): void;
}

export type { CurvePoint } from '../../results/schema.js';

export interface TrainOptions {
  model: LanguageModel;
  rows: TokenRows;
  steps: number;
  batchSize: number;
  optim: AdamWConfig;
  rng: Rng;
  rule: TargetRule;
  /** The rows of each step, drawn by the harness (harness/language/draws.ts); absent: drawn from `rng`. */
  batches?: readonly number[][];
  /** Read scalars (a device sync) every this many steps. Default 10. */
  logEvery?: number;
  /** Called at each log point after the step's scalars are read; a returned promise is awaited (it may read the device). */
  onLog?: (p: CurvePoint) => unknown;
  /**
   * Wait for each step's device work before timing it (a read of its loss). On an asynchronous backend (WebGPU)
   * a step otherwise returns once its work is queued, and only the wall time of the whole loop is right.
   * Default false.
   */
  syncEveryStep?: boolean;
}

/** Per-step wall-clock split (ms), and the same in process CPU time (robust to other load on the machine). */
export interface StepTiming {
  /** Each learner step (forward, targets, backward, update), its meta step excluded. */
  learnerMs: number[];
  /** Of each learner step, building the targets (candidates, designer forward, scatter). */
  targetMs: number[];
  /** Each meta step, in the order they ran. */
  metaMs: number[];
  /** CPU ms of each learner step, meta step excluded. */
  learnerCpuMs: number[];
  /** CPU ms of each meta step. */
  metaCpuMs: number[];
  /** Each step's wall time, its meta step included (with `syncEveryStep`, the device's work too). */
  stepMs: number[];
  /** Indices of the steps that ran a meta step. */
  metaSteps: number[];
}

/** Peak memory seen over the run. */
export interface MemoryPeak {
  /** Most bytes held by tfjs tensors, sampled at the end of each forward (activations + saved tape). */
  tfPeakBytes: number;
  /** Peak resident set size of the process so far (from the OS). */
  rssPeakBytes: number;
}

export interface TrainResult {
  curve: CurvePoint[];
  /** Wall time of the loop, ms. */
  wallMs: number;
  msPerStep: number;
  tokensPerSecond: number;
  timing: StepTiming;
  memory: MemoryPeak;
}

/** What one learner step measured about itself. */
export interface StepStats {
  targetMs: number;
  /** Meta-step ms, 0 when the rule did no designer update this step. */
  metaMs: number;
  /** Meta-step process CPU ms. */
  metaCpuMs: number;
  /** tf.memory().numBytes at the end of the forward. */
  tfBytes: number;
}

/** Logits of a plain forward, with the hidden state entering block `hiddenAt` when asked (same ops as `forward`). */
export function forwardWithHidden(cfg: GptConfig, params: Params, ids: tf.Tensor2D, hiddenAt?: number): { logits: tf.Tensor2D; hidden?: tf.Tensor2D } {
  if (hiddenAt === undefined) return { logits: forward(cfg, params, ids) };
  const [B, T] = ids.shape;
  const hidden = hiddenBelow(cfg, params, ids, hiddenAt);
  return { logits: forwardFrom(cfg, params, hidden, B, T, hiddenAt), hidden };
}

/** A detached view of a forward pass (for probes and tests that build targets outside a learner step). */
export function viewOf(model: LanguageModel, ids: tf.Tensor2D, hiddenAt?: number): ForwardView {
  const { logits, hidden } = forwardWithHidden(model.cfg, model.params, ids, hiddenAt);
  return hidden ? { logits: detach(logits), hidden: detach(hidden) } : { logits: detach(logits) };
}

/**
 * One learner update on `batch`: one forward, the rule's meta step and targets from detached views of it,
 * the soft cross-entropy against those targets, its gradient, and an AdamW step. Returns the loss and the
 * pre-clip gradient norm (kept tensors: the caller reads and disposes them) and what the step measured.
 */
export function learnerStep(model: LanguageModel, opt: AdamW, batch: BatchTensors, rule: TargetRule, step: number): { loss: tf.Scalar; gradNorm: tf.Scalar; stats: StepStats } {
  const stats: StepStats = { targetMs: 0, metaMs: 0, metaCpuMs: 0, tfBytes: 0 };
  const out = tf.tidy(() => {
    const names = Object.keys(model.vars);
    // A tied head is differentiated as an input of its own, so the rule sees the head's share of the embedding's
    // gradient (S holds the embedding only as the head; the activations below S are held), as g_down does.
    const tied = tiedHead(model);
    const inputs = tied ? [...names, TIED_HEAD] : names;
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const p: Params = { ...model.frozen };
      inputs.forEach((n, i) => (p[n] = xs[i] as tf.Tensor));
      const { logits, hidden } = forwardWithHidden(model.cfg, p, batch.ids, rule.hiddenAt);
      // Detached views share the forward's buffers but have no tape history: nothing built from them is differentiated.
      const view: ForwardView = hidden ? { logits: detach(logits), hidden: detach(hidden) } : { logits: detach(logits) };
      // The meta step and the targets run off the tape: q is a constant to this gradient, and their ops are
      // neither recorded nor copied for a backward pass that will never reach them.
      const tp = performance.now();
      withoutTape(() => rule.prepare?.(batch, view));
      const t0 = performance.now();
      const c0 = process.cpuUsage();
      const didMeta = withoutTape(() => rule.metaStep?.(batch, step, view) ?? false);
      const t1 = performance.now();
      const c1 = process.cpuUsage(c0);
      const q = withoutTape(() => rule.targets(batch, step, view));
      stats.targetMs = t0 - tp + (performance.now() - t1);
      if (didMeta) {
        stats.metaMs = t1 - t0;
        stats.metaCpuMs = (c1.user + c1.system) / 1000;
      }
      stats.tfBytes = tf.memory().numBytes;
      return softCrossEntropy(logits, q, batch.mask);
    };
    // The head's input is a copy (another tensor id): tfjs takes gradients by tensor, not by argument position.
    const { value, grads } = tf.valueAndGrads(f)(inputs.map((n) => (n === TIED_HEAD ? tf.clone(model.vars[tied as string] as tf.Tensor) : (model.vars[n] as tf.Tensor))));
    const g: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => (g[n] = grads[i] as tf.Tensor));
    if (tied) {
      const head = grads[names.length] as tf.Tensor;
      rule.afterGradients?.({ ...g, [tied]: head }, step);
      g[tied] = tf.add(g[tied] as tf.Tensor, head);
    } else {
      rule.afterGradients?.(g, step);
    }
    const norm = opt.apply(g);
    return [tf.keep(value), norm] as [tf.Scalar, tf.Scalar];
  });
  return { loss: out[0], gradNorm: out[1], stats };
}

/** The trainable embedding a decoder's head reads when tied (its name), else undefined. */
function tiedHead(model: LanguageModel): string | undefined {
  const cfg = model.cfg;
  return isDecoder(cfg) && cfg.tied && TIED_EMBEDDING in model.vars ? TIED_EMBEDDING : undefined;
}

/** Runs the loop; awaits only at log points (reads), so steps between them are queued back to back. */
export async function trainLM(o: TrainOptions): Promise<TrainResult> {
  const logEvery = o.logEvery ?? 10;
  const opt = new AdamW(o.optim, o.model.vars);
  const sampler = new BatchSampler(o.rows, o.batchSize, o.rng, o.batches);
  const curve: CurvePoint[] = [];
  const timing: StepTiming = { learnerMs: [], targetMs: [], metaMs: [], learnerCpuMs: [], metaCpuMs: [], stepMs: [], metaSteps: [] };
  let tfPeakBytes = 0;
  const t0 = performance.now();
  try {
    for (let step = 0; step < o.steps; step++) {
      const batch = toTensors(sampler.next());
      try {
        const lr = scheduledLr(o.optim, opt.stepCount);
        const ts = performance.now();
        const cs = process.cpuUsage();
        const { loss, gradNorm, stats } = learnerStep(o.model, opt, batch, o.rule, step);
        try {
          if (o.syncEveryStep) await readScalars([loss]);
          const stepMs = performance.now() - ts;
          timing.stepMs.push(stepMs);
          const cpu = process.cpuUsage(cs);
          timing.learnerMs.push(stepMs - stats.metaMs);
          timing.learnerCpuMs.push((cpu.user + cpu.system) / 1000 - stats.metaCpuMs);
          timing.targetMs.push(stats.targetMs);
          if (stats.metaMs > 0) {
            timing.metaSteps.push(step);
            timing.metaMs.push(stats.metaMs);
            timing.metaCpuMs.push(stats.metaCpuMs);
          }
          tfPeakBytes = Math.max(tfPeakBytes, stats.tfBytes);
          // Outside the learner step: the rule may read the device here (its probe points).
          await o.rule.afterStep?.(step);
          if (step % logEvery === 0 || step === o.steps - 1) {
            await o.rule.sync?.();
            const [l, g] = await readScalars([loss, gradNorm]);
            const point = { step, loss: l as number, lr, gradNorm: g as number };
            curve.push(point);
            await o.onLog?.(point);
          }
        } finally {
          loss.dispose();
          gradNorm.dispose();
        }
      } finally {
        disposeBatch(batch);
      }
    }
  } finally {
    opt.dispose();
  }
  const wallMs = performance.now() - t0;
  const tokens = o.steps * o.batchSize * o.rows.seqLen;
  return {
    curve,
    wallMs,
    msPerStep: wallMs / Math.max(1, o.steps),
    tokensPerSecond: (tokens / wallMs) * 1000,
    timing,
    memory: { tfPeakBytes, rssPeakBytes: process.resourceUsage().maxRSS * 1024 },
  };
}
