/**
 * The DINO training loop shared by every vision arm: host-side multi-crop augmentation from the seeded Rng,
 * the arm's view rule for the global views, the teacher's targets (no tape), one AdamW step of the student on
 * the DINO loss, then the teacher EMA and the centre update.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/rng.js';
import { AdamW, scheduledLr, type AdamWConfig, type AdamWState } from '../optim/adamw.js';
import { makeCrops, type AugmentConfig, type ImagePool } from './augment.js';
import { dinoLoss, dinoTargets, meanEntropy, teacherMomentumAt, updatedCenter, type DinoConfig } from './dino.js';
import { headForward } from './head.js';
import type { DinoModel } from './model.js';
import { drawIbotMask, extendedLossFrom, extendedStudentLoss, ibotTensors, teacherSide, usesExtendedObjective, usesIbot, type PatchTargets, type StudentFeatures } from './objective.js';
import { clsTokens, embedImages, patchTokens, vitClsFrom, vitForwardFrom, vitHiddenBelow, type Params } from './vit.js';
import { standardViews, type CropBatch, type ViewRule } from './views.js';

export interface DinoCurvePoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
  /** Teacher EMA momentum used at this step. */
  momentum: number;
  /** Mean entropy of the teacher's targets (nats): 0 or log K would mean collapse. */
  teacherEntropy: number;
}

export interface DinoTrainOptions {
  model: DinoModel;
  /** Unlabeled images to draw batches from. */
  pool: ImagePool;
  steps: number;
  batchSize: number;
  /** `totalSteps` is the schedule length (usually `steps`). */
  optim: AdamWConfig;
  dino: DinoConfig;
  augment: AugmentConfig;
  rng: Rng;
  /** Default: the standard augmented crops (baseline). */
  rule?: ViewRule;
  /** Continue this optimiser state (moments and bias correction) instead of starting from zero moments. */
  optimizerState?: AdamWState;
  /** Return the optimiser's final state (`DinoTrainResult.optimizerState`), e.g. to save beside a checkpoint. */
  keepOptimizerState?: boolean;
  /** Read scalars (a device sync) every this many steps. Default 10. */
  logEvery?: number;
  onLog?: (p: DinoCurvePoint) => void;
}

export interface DinoTrainResult {
  curve: DinoCurvePoint[];
  /** Wall time of the loop, ms. */
  wallMs: number;
  msPerStep: number;
  /** Source images per second (each yields 2 global + nLocal local views). */
  imagesPerSecond: number;
  /** Time spent building crops on the host, ms (part of wallMs). */
  augmentMs: number;
  /** CPU time of this process during the loop, ms (≈ wallMs on an idle core; robust to other load). */
  cpuMs: number;
  /** The optimiser's final state, with `keepOptimizerState`. */
  optimizerState?: AdamWState;
}

/** Epoch-wise shuffled batches of pool indices. */
export class IndexSampler {
  private order: number[] = [];
  private pos = 0;
  constructor(private readonly n: number, private readonly batchSize: number, private readonly rng: Rng) {
    if (n < 1) throw new Error('cannot sample batches from an empty image pool');
  }
  next(): number[] {
    const out: number[] = [];
    while (out.length < this.batchSize) {
      if (this.pos >= this.order.length) {
        this.order = this.rng.shuffle(Array.from({ length: this.n }, (_, i) => i));
        this.pos = 0;
      }
      out.push(this.order[this.pos++] as number);
    }
    return out;
  }
}

/** Crops of pool images `indices` as device tensors (the caller disposes with {@link disposeCrops}). */
export function cropBatch(pool: ImagePool, indices: readonly number[], aug: AugmentConfig, rng: Rng): CropBatch {
  const host = makeCrops(pool, indices, aug, rng);
  const B = indices.length;
  return {
    B, nLocal: aug.nLocal, indices, host,
    global: tf.tensor4d(host.global, [2 * B, aug.globalSize, aug.globalSize, 3]),
    local: tf.tensor4d(host.local, [aug.nLocal * B, aug.localSize, aug.localSize, 3]),
  };
}

export function disposeCrops(c: CropBatch): void {
  c.global.dispose();
  c.local.dispose();
}

/** Projection-head logits of the CLS tokens of `images` under `params` (the last block runs for CLS only). */
export function clsLogits(model: DinoModel, params: Params, images: tf.Tensor4D): tf.Tensor2D {
  const { x, B, T } = embedImages(model.cfg.vit, params, images);
  return headForward(params, pooledFrom(model, params, x, B, T, 0), model.cfg.head.norm);
}

/** The head's input from the hidden state entering block `from`: the CLS token, or the mean patch token (`head.pool`). */
export function pooledFrom(model: DinoModel, params: Params, hidden: tf.Tensor2D, B: number, T: number, from: number): tf.Tensor2D {
  if (model.cfg.head.pool !== 'mean') return vitClsFrom(model.cfg.vit, params, hidden, B, T, from);
  return tf.mean(patchTokens(vitForwardFrom(model.cfg.vit, params, hidden, B, T, from), B, T), 1) as tf.Tensor2D;
}

/** The student's DINO loss for given global views (student side), local views and teacher targets. */
export function studentLoss(model: DinoModel, params: Params, globalViews: tf.Tensor4D, local: tf.Tensor4D, targets: tf.Tensor2D, B: number, dino: DinoConfig): tf.Scalar {
  const parts = [clsLogits(model, params, globalViews)];
  if (local.shape[0] > 0) parts.push(clsLogits(model, params, local));
  return dinoLoss(parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0), targets, B, dino.studentTemp);
}

/** Backbone activations entering block `from` for a batch of views (computed once, reused across S-forwards). */
export interface HiddenViews {
  x: tf.Tensor2D;
  B: number;
  T: number;
}

/** Activations below S (blocks [0, from)) of `images` under `params`. */
export function hiddenViews(model: DinoModel, params: Params, images: tf.Tensor4D, from: number): HiddenViews {
  return vitHiddenBelow(model.cfg.vit, params, images, from);
}

/**
 * The student's pretraining loss computed from activations below S: only the blocks from `from` on, the final
 * norm and the head read `params`, so its gradient is over S (plus the head). Equals {@link studentLoss} (or, with
 * `dino.ibotWeight` / `dino.koleoWeight`, the learner's extended loss on the same masked views and `patch`
 * targets) when the hidden states come from the same parameters.
 */
export function studentLossFromHidden(model: DinoModel, params: Params, global: HiddenViews, local: HiddenViews | undefined, from: number, targets: tf.Tensor2D, B: number, dino: DinoConfig, patch?: PatchTargets): tf.Scalar {
  const cfg = model.cfg.vit;
  const hasLocal = local !== undefined && local.B > 0;
  if (usesExtendedObjective(dino)) {
    const tokens = patch ? vitForwardFrom(cfg, params, global.x, global.B, global.T, from) : undefined;
    const features: StudentFeatures = {
      globalCls: tokens ? clsTokens(tokens, global.B, global.T) : vitClsFrom(cfg, params, global.x, global.B, global.T, from),
      ...(tokens ? { globalTokens: tokens } : {}),
      ...(hasLocal ? { localCls: vitClsFrom(cfg, params, local.x, local.B, local.T, from) } : {}),
    };
    return extendedLossFrom(model, params, features, targets, B, dino, patch);
  }
  const logits = (h: HiddenViews): tf.Tensor2D => headForward(params, pooledFrom(model, params, h.x, h.B, h.T, from), model.cfg.head.norm);
  const parts = [logits(global)];
  if (hasLocal) parts.push(logits(local));
  return dinoLoss(parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0), targets, B, dino.studentTemp);
}

export interface StepOut {
  loss: tf.Scalar;
  gradNorm: tf.Scalar;
  entropy: tf.Scalar;
}

/**
 * One DINO step on a crop batch with the given global views: teacher targets (forward only), student
 * gradient step, teacher EMA with `momentum`, centre update. Returns kept scalars the caller disposes.
 */
export function dinoStep(model: DinoModel, opt: AdamW, crops: CropBatch, views: { student: tf.Tensor4D; teacher: tf.Tensor4D }, dino: DinoConfig, momentum: number): StepOut {
  return tf.tidy(() => {
    const B = crops.B;
    const extended = usesExtendedObjective(dino);
    // iBOT: the student sees its global views with the step's masked patches blanked (after the arm's rule).
    const mask = usesIbot(dino) ? crops.patchMask : undefined;
    const ibot = mask ? ibotTensors(model, mask, views.teacher, dino) : undefined;
    const tLogits = ibot ? ibot.cls : extended ? teacherSide(model, views.teacher, undefined, dino).cls : clsLogits(model, model.teacher, views.teacher);
    const targets = dinoTargets(tLogits, model.center as tf.Tensor as tf.Tensor1D, dino);
    const studentViews = ibot ? (tf.mul(views.student, ibot.keep) as tf.Tensor4D) : views.student;
    const patch = ibot?.patch;
    const names = Object.keys(model.student);
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const p: Params = {};
      names.forEach((n, i) => (p[n] = xs[i] as tf.Tensor));
      return extended
        ? extendedStudentLoss(model, p, studentViews, crops.local, targets, B, dino, patch)
        : studentLoss(model, p, views.student, crops.local, targets, B, dino);
    };
    const { value, grads } = tf.valueAndGrads(f)(names.map((n) => model.student[n] as tf.Tensor));
    const g: Record<string, tf.Tensor> = {};
    names.forEach((n, i) => (g[n] = grads[i] as tf.Tensor));
    const gradNorm = opt.apply(g);
    for (const n of names) {
      const t = model.teacher[n] as tf.Variable;
      t.assign(tf.add(tf.mul(t, momentum), tf.mul(model.student[n] as tf.Tensor, 1 - momentum)));
    }
    model.center.assign(updatedCenter(model.center as tf.Tensor as tf.Tensor1D, tLogits, dino.centerMomentum));
    return { loss: tf.keep(value), gradNorm, entropy: tf.keep(meanEntropy(targets)) };
  });
}

export function trainDino(o: DinoTrainOptions): DinoTrainResult {
  const logEvery = o.logEvery ?? 10;
  const rule = o.rule ?? standardViews;
  // Inside tidy: AdamW's moment variables are made from zerosLike tensors it does not release.
  let opt!: AdamW;
  tf.tidy(() => {
    opt = new AdamW(o.optim, o.model.student);
  });
  if (o.optimizerState) opt.restoreState(o.optimizerState);
  let optimizerState: AdamWState | undefined;
  const sampler = new IndexSampler(o.pool.n, o.batchSize, o.rng.fork('order'));
  const augRng = o.rng.fork('augment');
  const maskRng = o.rng.fork('ibot-mask');
  const curve: DinoCurvePoint[] = [];
  let augmentMs = 0;
  const t0 = performance.now();
  const c0 = process.cpuUsage();
  try {
    for (let step = 0; step < o.steps; step++) {
      const ta = performance.now();
      const crops = cropBatch(o.pool, sampler.next(), o.augment, augRng);
      if (usesIbot(o.dino)) crops.patchMask = drawIbotMask(o.model, 2 * crops.B, o.dino, maskRng);
      augmentMs += performance.now() - ta;
      try {
        rule.beforeStep?.(crops, step);
        const lr = scheduledLr(o.optim, opt.stepCount);
        const momentum = teacherMomentumAt(o.dino.teacherMomentum, step, o.steps);
        const out = tf.tidy(() => {
          const views = rule.views(crops, step);
          const r = dinoStep(o.model, opt, crops, views, o.dino, momentum);
          return [r.loss, r.gradNorm, r.entropy] as tf.Scalar[];
        });
        const [loss, gradNorm, entropy] = out as [tf.Scalar, tf.Scalar, tf.Scalar];
        if (step % logEvery === 0 || step === o.steps - 1) {
          const point: DinoCurvePoint = {
            step, lr, momentum,
            loss: loss.dataSync()[0] as number,
            gradNorm: gradNorm.dataSync()[0] as number,
            teacherEntropy: entropy.dataSync()[0] as number,
          };
          curve.push(point);
          o.onLog?.(point);
        }
        loss.dispose();
        gradNorm.dispose();
        entropy.dispose();
      } finally {
        disposeCrops(crops);
      }
    }
    if (o.keepOptimizerState) optimizerState = opt.exportState();
  } finally {
    opt.dispose();
  }
  const wallMs = performance.now() - t0;
  const c = process.cpuUsage(c0);
  const cpuMs = (c.user + c.system) / 1000;
  return {
    curve, wallMs, msPerStep: wallMs / Math.max(1, o.steps), imagesPerSecond: (o.steps * o.batchSize * 1000) / wallMs, augmentMs, cpuMs,
    ...(optimizerState ? { optimizerState } : {}),
  };
}
