/**
 * The mask designer's view rule (arms `v-pretraining` and `random-feedback`, METHOD.md §4). Every learner step
 * the designer masks the two global crops: the student sees μ⊙v + (1−μ)⊙Blur(v), the teacher sees v, and the
 * learner takes the ordinary DINO step on these detached views. After `burnIn` learner steps, every `metaEvery`
 * steps a meta step runs first on the same batch: the feedback heads follow the backbone, g_down is taken on a
 * labelled feedback batch (or replaced by a same-norm Gaussian), and the designer takes one Adam step on
 *   −w·V̂ + keep-ratio penalty + λ_tv·TV,   V̂ = V/‖g_down‖ = ĝᵀg_pre,
 * with g_pre on the first `metaBatch` unlabeled images of the batch under the designer's masks; the learner's
 * views are then built with the updated φ.
 */
import * as tf from '@tensorflow/tfjs';
import type { VisionData } from '../data/load.js';
import { pearson } from '../../engine/moments.js';
import { describe } from '../../stats.js';
import { dot, randomLike, type Grads } from '../../engine/grads.js';
import { globalNorm } from '../../engine/ops.js';
import type { Rng } from '../../engine/rng.js';
import { normalizedCopy, type AugmentConfig, type ImagePool } from '../augment.js';
import type { DinoConfig } from '../dino.js';
import type { DinoModel } from '../model.js';
import type { VisionDesignConfig } from '../schema.js';
import { cropBatch, disposeCrops } from '../trainer.js';
import { blurBatch, type CropBatch, type GlobalViews, type ViewRule } from '../views.js';
import { disposeFeedbackBatch, feedbackBatch, FeedbackHeads, feedbackSources, partitionFeedback, type FeedbackBatch, type FeedbackPartition, type FeedbackSource } from './feedback.js';
import { keepPenalty, maskedViews, maskStats, totalVariation } from './masks.js';
import { MaskDesigner } from './unet.js';
import {
  downstreamGrad, downstreamLoss, localHidden, pretrainBatch, pretrainGrad, refitHeads, shiftedParams, slopeAlong, unitDirection, visionSubset, type VisionSubset,
} from './value.js';

/** What a masking rule is built from. */
export interface MaskRuleContext {
  model: DinoModel;
  design: VisionDesignConfig;
  data: VisionData;
  /** The cell's RNG, forked for the arm. */
  rng: Rng;
  /** The training stage's crops and DINO settings (the probe draws its crops the same way). */
  augment: AugmentConfig;
  dino: DinoConfig;
  /** Held-out unlabeled images for the one-step probe (never trained on). */
  probePool?: ImagePool;
}

/** One meta step of the designer, as recorded in `curves.designer`. */
export interface DesignerPoint {
  step: number;
  /** V = g_downᵀg_pre at φ before the update. */
  value: number;
  /** Language's gate column; masks have none. */
  gate: null;
  /** V̂ = V/‖g_down‖. */
  slope: number;
  /** Mean μ, mean binary entropy (nats) and total variation of the meta batch's masks before the update. */
  keep: number;
  entropy: number;
  tv: number;
  /** Downstream loss of the feedback batch (after the heads' refit steps). */
  downLoss: number;
  /** The designer's objective −w·V̂ + regularisers. */
  objective: number;
  /** V̂ on the same batch and direction after the update (`design.valueAfter`), else null. */
  slopeAfter: number | null;
  /** Cosine between this meta step's g_down and the previous one's (null at the first): how steady the feedback direction is. */
  downCos: number | null;
  /** Cosine between this and the previous meta step's designer gradient of the value term −w·V̂ (null at the first). */
  valueGradCos: number | null;
  /** ‖∇φ of −w·V̂‖ / (‖that‖ + ‖∇φ of the regularisers‖): how much of the designer's gradient is the value's. */
  valueShare: number;
}

/** Fewest probe batches whose correlation is reported (as in language). */
export const MIN_PROBE_BATCHES = 5;

/** Sums of [keep, entropy, tv, count] of every learner step's masks (a device variable: no per-step sync). */
function statSums(): tf.Variable {
  return tf.tidy(() => tf.variable(tf.zeros([4]), false));
}

/** Cosine between two gradients over the same tensors (read on the host: once per meta step). */
function cosine(a: Grads, b: Grads): number {
  const c = tf.tidy(() => tf.div(dot(a, b), tf.mul(globalNorm(Object.values(a)), globalNorm(Object.values(b)))));
  const v = c.dataSync()[0] as number;
  c.dispose();
  return v;
}

function meanOf(xs: readonly number[]): number {
  return xs.length ? xs.reduce((a, b) => a + b, 0) / xs.length : Number.NaN;
}

export class MaskDesignerRule implements ViewRule {
  readonly designer: MaskDesigner;
  readonly heads: FeedbackHeads;
  readonly curve: DesignerPoint[] = [];
  readonly metaMs: number[] = [];
  headFitMs = 0;
  private readonly opt: tf.Optimizer;
  private readonly subset: VisionSubset;
  private readonly sources: FeedbackSource[];
  /** Per source: the images the heads fit on and those g_down is taken on (design.metaFraction). */
  private readonly parts: FeedbackPartition[];
  private readonly fbRng: Rng;
  private readonly noiseRng: Rng;
  private readonly sums = statSums();
  private fbTurn = 0;
  /** Running average ḡ of g_down over meta steps (`design.downMomentum`), and the previous raw g_down. */
  private downAvg: Grads | undefined;
  private downPrev: Grads | undefined;
  /** The previous meta step's designer gradient of the value term. */
  private valueGradPrev: Grads | undefined;
  private probeR = Number.NaN;
  /** The probe's V̂ on held-out batches under the final and under the initial designer (paired by batch). */
  private probeSlopes: { final: number[]; initial: number[] } | undefined;
  /** iBOT patch masking of the meta batches (used only with dino.ibotWeight > 0). */
  private readonly patchRng: Rng;

  constructor(private readonly ctx: MaskRuleContext, private readonly feedback: 'true' | 'random') {
    const { model, design, data } = ctx;
    this.designer = this.initialDesigner();
    this.opt = tf.train.adam(design.designerLr);
    this.subset = visionSubset(model.cfg.vit, design.subsetBlocks);
    this.sources = feedbackSources(data, { seg: design.segWeight, depth: design.depthWeight });
    this.parts = partitionFeedback(this.sources, design.metaFraction, design.feedbackBatch);
    this.heads = new FeedbackHeads(model.cfg.vit, { seg: design.segWeight, depth: design.depthWeight, numClasses: Math.max(1, data.info.segClasses), lr: design.headLr }, this.sources);
    this.fbRng = ctx.rng.fork('feedback-batches');
    this.noiseRng = ctx.rng.fork('random-feedback');
    this.patchRng = ctx.rng.fork('ibot-mask');
  }

  /** The U-Net as the arm starts it (the 'designer-init' fork: the same weights every time it is built). */
  private initialDesigner(): MaskDesigner {
    const { model, design, rng } = this.ctx;
    return new MaskDesigner({ width: design.designerWidth, levels: design.designerLevels, channels: model.cfg.vit.channels, scale: design.designerScale, ...(design.keepCentering ? { centre: design.keepTarget } : {}) }, rng.fork('designer-init'));
  }

  /** The student's global views of normalised crops [N,S,S,3] under the current designer (or `designer`). */
  private studentViews(global: tf.Tensor4D, blurred: tf.Tensor4D, designer: MaskDesigner = this.designer): { views: tf.Tensor4D; mu: tf.Tensor4D } {
    const mu = designer.masks(global);
    return { views: maskedViews(global, blurred, mu, this.ctx.design.maskStrength), mu };
  }

  views(crops: CropBatch): GlobalViews {
    const { views, mu } = this.studentViews(crops.global, blurBatch(crops.global, this.ctx.design.maskBlurSigma));
    this.sums.assign(tf.add(this.sums, tf.concat([maskStats(mu), tf.ones([1])])));
    return { student: views, teacher: crops.global };
  }

  beforeStep(crops: CropBatch, step: number): void {
    const { burnIn, metaEvery } = this.ctx.design;
    if (step < burnIn || (step - burnIn) % metaEvery !== 0) return;
    this.metaStep(crops, step);
  }

  /** The first fit of the feedback heads (once, before the first meta step or probe). */
  private ensureHeads(): void {
    if (this.heads.fitted) return;
    const t0 = performance.now();
    this.heads.fit(this.ctx.model.student, this.ctx.design.headSteps, this.ctx.design.feedbackBatch, this.ctx.rng.fork('head-fit'), this.parts.map((p) => p.head));
    this.headFitMs += performance.now() - t0;
  }

  /** Whether the heads refit on their own images before g_down (else on g_down's batch itself). */
  private get separateRefit(): boolean {
    return this.ctx.design.metaFraction > 0 && this.ctx.design.headRefitSteps > 0;
  }

  /**
   * The next labelled batch: sources in turn, images of the source's meta set drawn from `rng`; with a separate
   * refit, a batch of the source's head images is drawn first (`refit`).
   */
  private nextFeedback(rng: Rng, withRefit = false): { batch: FeedbackBatch; refit?: FeedbackBatch } {
    const si = this.fbTurn++ % this.sources.length;
    const src = this.sources[si] as FeedbackSource;
    const part = this.parts[si] as FeedbackPartition;
    const k = this.ctx.design.feedbackBatch;
    const C = this.heads.cfg.numClasses;
    const refit = withRefit ? feedbackBatch(src, rng.sample(part.head.length, k).map((i) => part.head[i] as number), C) : undefined;
    const batch = feedbackBatch(src, rng.sample(part.meta.length, k).map((i) => part.meta[i] as number), C);
    return { batch, ...(refit ? { refit } : {}) };
  }

  /** g_down for this meta step (detached) and the feedback batch's loss: from labels, or a same-norm Gaussian. */
  private gDown(): { grads: Grads; loss: number } {
    const { batch: fb, refit } = this.nextFeedback(this.fbRng, this.separateRefit);
    try {
      if (refit) refitHeads(this.ctx.model, this.heads, refit, this.ctx.design.headRefitSteps);
      const { loss, grads } = downstreamGrad(this.ctx.model, this.subset, this.heads, fb, refit ? 0 : this.ctx.design.headRefitSteps);
      const l = loss.dataSync()[0] as number;
      loss.dispose();
      if (this.feedback === 'true') return { grads, loss: l };
      const noise = randomLike(grads, this.noiseRng);
      tf.dispose(Object.values(grads));
      return { grads: noise, loss: l };
    } finally {
      disposeFeedbackBatch(fb);
      if (refit) disposeFeedbackBatch(refit);
    }
  }

  metaStep(crops: CropBatch, step: number): void {
    this.ensureHeads();
    const t0 = performance.now();
    const { model, design, dino } = this.ctx;
    const g = this.gDown();
    const downCos = this.downPrev ? cosine(g.grads, this.downPrev) : null;
    const dir = this.averagedDown(g.grads);
    const kept: tf.Tensor[] = [];
    const out = tf.tidy(() => {
      const norm = globalNorm(Object.values(dir));
      const unit = unitDirection(dir);
      const b = pretrainBatch(model, crops, design.metaBatch, dino, design.maskBlurSigma, this.patchRng);
      const locals = localHidden(model, this.subset, b);
      const vars = Object.values(this.designer.vars);
      // The value's and the regularisers' gradients apart (the U-Net's forward runs twice; it is cheap next to
      // the backbone's), so the record can say how steady the value's direction is and how much it weighs.
      const v = tf.variableGrads(() => {
        const { views, mu } = this.studentViews(b.global, b.blurred);
        const slope = slopeAlong(model, this.subset, views, locals, b, unit, design.fdEpsilon, dino);
        kept.push(tf.keep(maskStats(mu)), tf.keep(slope));
        return tf.mul(slope, -design.valueWeight) as tf.Scalar;
      }, vars);
      const r = tf.variableGrads(() => {
        const mu = this.designer.masks(b.global);
        return tf.add(keepPenalty(mu, design.keepPenalty, design.keepWeight, design.keepTarget), tf.mul(totalVariation(mu), design.tvWeight)) as tf.Scalar;
      }, vars);
      const grads: Record<string, tf.Tensor> = {};
      for (const k of Object.keys(v.grads)) grads[k] = tf.add(v.grads[k] as tf.Tensor, r.grads[k] as tf.Tensor);
      const value = tf.add(v.value, r.value);
      const vList = Object.keys(v.grads).map((k) => v.grads[k] as tf.Tensor);
      const vNorm = globalNorm(vList);
      kept.push(tf.keep(tf.div(vNorm, tf.add(vNorm, globalNorm(Object.values(r.grads))))));
      const prev = this.valueGradPrev;
      kept.push(tf.keep(prev ? tf.div(dot(v.grads, prev), tf.mul(vNorm, globalNorm(Object.values(prev)))) : tf.scalar(Number.NaN)));
      if (prev) tf.dispose(Object.values(prev));
      const nextPrev: Grads = {};
      for (const k of Object.keys(v.grads)) nextPrev[k] = tf.keep(v.grads[k] as tf.Tensor);
      this.valueGradPrev = nextPrev;
      this.opt.applyGradients(grads);
      const after = design.valueAfter ? slopeAlong(model, this.subset, this.studentViews(b.global, b.blurred).views, locals, b, unit, design.fdEpsilon, dino) : tf.scalar(Number.NaN);
      return tf.concat([value.reshape([1]), norm.reshape([1]), after.reshape([1])]);
    });
    const [objective, norm, after] = out.dataSync() as Float32Array;
    const st = kept[0]?.dataSync() as Float32Array;
    const slope = kept[1]?.dataSync()[0] as number;
    const valueShare = kept[2]?.dataSync()[0] as number;
    const gradCos = kept[3]?.dataSync()[0] as number;
    tf.dispose([out, ...kept]);
    if (this.downPrev) tf.dispose(Object.values(this.downPrev));
    this.downPrev = g.grads;
    this.curve.push({
      step, value: slope * (norm as number), gate: null, slope,
      keep: st[0] as number, entropy: st[1] as number, tv: st[2] as number, downLoss: g.loss, objective: objective as number,
      slopeAfter: design.valueAfter ? (after as number) : null, downCos,
      valueGradCos: Number.isNaN(gradCos) ? null : gradCos, valueShare,
    });
    this.metaMs.push(performance.now() - t0);
  }

  /**
   * The direction this meta step ascends: g_down itself, or with `design.downMomentum` β > 0 the running
   * average ḡ ← β·ḡ + (1−β)·g_down (ḡ starts at the first g_down). The result is owned by the rule.
   */
  private averagedDown(g: Grads): Grads {
    const beta = this.ctx.design.downMomentum;
    if (beta === 0) return g;
    const prev = this.downAvg;
    const next: Grads = {};
    for (const [k, t] of Object.entries(g)) next[k] = prev ? tf.tidy(() => tf.add(tf.mul(prev[k] as tf.Tensor, beta), tf.mul(t, 1 - beta))) : tf.clone(t);
    if (prev) tf.dispose(Object.values(prev));
    this.downAvg = next;
    return next;
  }

  /**
   * One-step probe (METHOD.md §2): on held-out unlabeled batches, the predicted decrease η·V against the
   * realised decrease of the downstream loss after one plain step θ_S ← θ_S − η·g_pre (exact gradients, the
   * real g_down whatever the arm's feedback), each on a fresh feedback batch. On the same batches it also takes
   * V̂ = ĝ_downᵀg_pre under the initial designer, so the summary can set what the designer's updates moved V̂ by
   * against V̂'s batch-to-batch noise.
   */
  probe(pool: ImagePool, batches: number, eta: number, rng: Rng): { predicted: number[]; realised: number[]; r: number } {
    this.ensureHeads();
    const { model, design, dino, augment } = this.ctx;
    const m = Math.min(design.metaBatch, pool.n);
    const augRng = rng.fork('augment');
    const fbRng = rng.fork('feedback');
    const maskRng = rng.fork('ibot-mask');
    const predicted: number[] = [];
    const realised: number[] = [];
    const slopes = { final: [] as number[], initial: [] as number[] };
    const initial = this.initialDesigner();
    for (let j = 0; j < batches && (j + 1) * m <= pool.n; j++) {
      const crops = cropBatch(pool, Array.from({ length: m }, (_, i) => j * m + i), augment, augRng);
      const fb = this.nextFeedback(fbRng).batch;
      const { loss, grads: gDown } = downstreamGrad(model, this.subset, this.heads, fb);
      const pr = tf.tidy(() => {
        const b = pretrainBatch(model, crops, m, dino, design.maskBlurSigma, maskRng);
        const { views } = this.studentViews(b.global, b.blurred);
        const gPre = pretrainGrad(model, this.subset, views, b, dino).grads;
        const after = downstreamLoss(model, shiftedParams(model.student, this.subset, gPre, -eta), this.heads, fb);
        const gPre0 = pretrainGrad(model, this.subset, this.studentViews(b.global, b.blurred, initial).views, b, dino).grads;
        const unit = unitDirection(gDown);
        return tf.stack([tf.mul(dot(gDown, gPre), eta), tf.sub(loss, after), dot(unit, gPre), dot(unit, gPre0)]);
      });
      const [p, r, s1, s0] = pr.dataSync() as Float32Array;
      predicted.push(p as number);
      realised.push(r as number);
      slopes.final.push(s1 as number);
      slopes.initial.push(s0 as number);
      tf.dispose([pr, loss, ...Object.values(gDown)]);
      disposeFeedbackBatch(fb);
      disposeCrops(crops);
    }
    initial.dispose();
    this.probeR = pearson(predicted, realised);
    this.probeSlopes = slopes;
    return { predicted, realised, r: this.probeR };
  }

  /**
   * What the designer's updates did to V̂, from the probe's held-out batches: the mean paired change of V̂ (final
   * against initial designer, same batch, same g_down, the same learner), its standard error, and the sd of V̂ from
   * batch to batch. A gain inside the batch sd means the updates moved V̂ less than one batch's noise.
   */
  private designerGain(): Record<string, number> {
    const sl = this.probeSlopes;
    if (!sl || sl.final.length < 2) return {};
    const gain = describe(sl.final.map((v, i) => v - (sl.initial[i] as number)));
    return {
      value_unit_final: meanOf(sl.final), value_unit_initial: meanOf(sl.initial),
      value_unit_designer_gain: gain.mean, value_unit_gain_se: gain.sd / Math.sqrt(gain.n), value_unit_batch_sd: describe(sl.initial).sd,
    };
  }

  masksFor(images: Float32Array, n: number): Float32Array {
    const S = this.ctx.model.cfg.vit.imageSize;
    const mu = tf.tidy(() => this.designer.masks(tf.tensor4d(normalizedCopy(images.subarray(0, n * S * S * 3)), [n, S, S, 3])));
    const out = mu.dataSync() as Float32Array;
    mu.dispose();
    return out;
  }

  summary(): Record<string, number> {
    const { design, probePool } = this.ctx;
    // Pearson r over fewer than MIN_PROBE_BATCHES points is ±1 or near it by construction: reported as n/a.
    if (probePool && design.probeBatches >= MIN_PROBE_BATCHES && Number.isNaN(this.probeR)) {
      this.probe(probePool, design.probeBatches, design.probeLr, this.ctx.rng.fork('probe'));
    }
    const s = this.sums.dataSync();
    const n = Math.max(1, s[3] as number);
    return {
      value_mean: meanOf(this.curve.map((p) => p.value)),
      value_unit_mean: meanOf(this.curve.map((p) => p.slope)),
      keep_ratio: (s[0] as number) / n,
      mask_entropy: (s[1] as number) / n,
      mask_tv: (s[2] as number) / n,
      down_loss_first: this.curve[0]?.downLoss ?? Number.NaN,
      down_loss_last: this.curve[this.curve.length - 1]?.downLoss ?? Number.NaN,
      value_grad_cos_mean: meanOf(this.curve.flatMap((p) => (p.valueGradCos === null ? [] : [p.valueGradCos]))),
      value_share_mean: meanOf(this.curve.map((p) => p.valueShare)),
      down_cos_mean: meanOf(this.curve.flatMap((p) => (p.downCos === null ? [] : [p.downCos]))),
      ...(design.valueAfter ? { value_unit_gain_mean: meanOf(this.curve.map((p) => (p.slopeAfter as number) - p.slope)) } : {}),
      ...this.designerGain(),
      meta_steps: this.curve.length,
      meta_ms_mean: meanOf(this.metaMs),
      head_fit_ms: this.headFitMs,
      probe_r: this.probeR,
    };
  }

  dispose(): void {
    this.designer.dispose();
    this.heads.dispose();
    this.opt.dispose();
    this.sums.dispose();
    if (this.downAvg) tf.dispose(Object.values(this.downAvg));
    if (this.downPrev) tf.dispose(Object.values(this.downPrev));
    if (this.valueGradPrev) tf.dispose(Object.values(this.valueGradPrev));
  }
}
