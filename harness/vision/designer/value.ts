/**
 * The value estimator for vision (METHOD.md §2, §4). With S the student's last n blocks + final norm:
 *   V(φ) = g_downᵀ g_pre(φ),  g_pre(φ) = ∇_θS L_pre(θ; μ_φ⊙v + (1−μ_φ)⊙Blur(v), locals; teacher targets),
 * L_pre the learner's own loss: DINO's, plus iBOT's masked-patch term (on a patch masking drawn for the meta
 * batch, applied after the designer's views as in the learner's step) and KoLeo when the suite turns them on.
 * The DINO loss is not linear in the views, so unlike language no φ-free factor can be pulled out; the value
 * and its designer gradient come from the DARTS central difference along the unit ĝ = g_down/‖g_down‖:
 *   V ≈ ‖g_down‖·(L(θ_S + εĝ; x_φ) − L(θ_S − εĝ; x_φ)) / 2ε,
 * differentiated through the views x_φ by ordinary backprop (exact up to O(ε²)). Only S is perturbed, so the
 * activations below S are computed once per meta step and shared by both perturbed forwards; the local crops
 * do not depend on φ, so their activations below S are constants. The teacher's targets come from the
 * unmasked views and are constants too. `pretrainGrad` gives g_pre by explicit gradients of a full forward
 * (the reference the exactness test and the one-step probe use).
 */
import * as tf from '@tensorflow/tfjs';
import { globalNorm } from '../../engine/ops.js';
import type { Grads } from '../../engine/grads.js';
import { dinoTargets, type DinoConfig } from '../dino.js';
import { drawIbotMask, extendedStudentLoss, ibotTensors, usesExtendedObjective, usesIbot, type PatchTargets } from '../objective.js';
import type { Rng } from '../../engine/rng.js';
import type { DinoModel } from '../model.js';
import { clsLogits, hiddenViews, studentLoss, studentLossFromHidden, type HiddenViews } from '../trainer.js';
import type { CropBatch } from '../views.js';
import { blurBatch } from '../views.js';
import { vitForwardFrom, vitHiddenBelow, vitSubsetNames, vitSubsetStart, type Params, type VitConfig } from '../vit.js';
import type { FeedbackBatch, FeedbackHeads } from './feedback.js';

/** Where S starts and which student parameters it holds. */
export interface VisionSubset {
  from: number;
  names: string[];
}

export function visionSubset(cfg: VitConfig, nBlocks: number): VisionSubset {
  return { from: vitSubsetStart(cfg, nBlocks), names: vitSubsetNames(cfg, nBlocks) };
}

/** ∇ over S of `loss(params)`, params = `base` with S's tensors as the differentiated inputs. */
export function subsetGrad(base: Params, s: VisionSubset, loss: (p: Params) => tf.Scalar): { value: tf.Scalar; grads: Grads } {
  const f = (...xs: tf.Tensor[]): tf.Scalar => {
    const p: Params = { ...base };
    s.names.forEach((n, i) => (p[n] = xs[i] as tf.Tensor));
    return loss(p);
  };
  const { value, grads } = tf.valueAndGrads(f)(s.names.map((n) => base[n] as tf.Tensor));
  const out: Grads = {};
  s.names.forEach((n, i) => (out[n] = grads[i] as tf.Tensor));
  return { value, grads: out };
}

/** `base` with S moved by c·dir. */
export function shiftedParams(base: Params, s: VisionSubset, dir: Grads, c: number | tf.Scalar): Params {
  const p: Params = { ...base };
  for (const n of s.names) p[n] = tf.add(base[n] as tf.Tensor, tf.mul(dir[n] as tf.Tensor, c));
  return p;
}

/** `g` scaled to unit global norm. */
export function unitDirection(g: Grads): Grads {
  const norm = globalNorm(Object.values(g));
  const out: Grads = {};
  for (const [k, t] of Object.entries(g)) out[k] = tf.div(t, norm);
  return out;
}

/** The unlabeled batch a meta step (or the probe) evaluates g_pre on: all constants. */
export interface PretrainBatch {
  /** Images. */
  m: number;
  /** The 2 unmasked global views [2m, S, S, 3] (view-major) and their blur. */
  global: tf.Tensor4D;
  blurred: tf.Tensor4D;
  /** Local views [nLocal·m, s, s, 3]. */
  local: tf.Tensor4D;
  /** Teacher targets [2m, K] from the unmasked global views. */
  targets: tf.Tensor2D;
  /**
   * With `dino.ibotWeight` > 0, the batch's iBOT masking as the learner would draw it: the pixel multiplier that
   * blanks the masked patches of the student's global views [2m, S, S, 1], the masked tokens' row selector and
   * the teacher's targets for them.
   */
  patch?: PatchTargets & { keep: tf.Tensor4D };
}

/** Rows of the first `m` images of every view of a view-major batch [V·B, ...]. */
function firstImages(x: tf.Tensor4D, B: number, m: number): tf.Tensor4D {
  const [N, H, W, C] = x.shape;
  const V = N / B;
  if (m === B) return x;
  return tf.slice(x.reshape([V, B, H, W, C]), [0, 0, 0, 0, 0], [V, m, H, W, C]).reshape([V * m, H, W, C]) as tf.Tensor4D;
}

/**
 * The first `m` images of a crop batch with their blur and the teacher's targets under the learner's centring
 * (runs inside the caller's tidy). With iBOT on, `maskRng` draws the batch's patch masking (required then).
 */
export function pretrainBatch(model: DinoModel, crops: CropBatch, m: number, dino: DinoConfig, blurSigma: number, maskRng?: Rng): PretrainBatch {
  const k = Math.min(m, crops.B);
  const global = firstImages(crops.global, crops.B, k);
  const local = crops.nLocal > 0 ? firstImages(crops.local, crops.B, k) : crops.local;
  const center = model.center as tf.Tensor as tf.Tensor1D;
  const blurred = blurBatch(global, blurSigma);
  if (!usesIbot(dino)) return { m: k, global, blurred, local, targets: dinoTargets(clsLogits(model, model.teacher, global), center, dino) };
  if (!maskRng) throw new Error('pretrainBatch: dino.ibotWeight > 0 needs a mask RNG');
  const ibot = ibotTensors(model, drawIbotMask(model, 2 * k, dino, maskRng), global, dino);
  return { m: k, global, blurred, local, targets: dinoTargets(ibot.cls, center, dino), patch: { ...ibot.patch, keep: ibot.keep } };
}

/** The student's global views as the learner's loss sees them: iBOT's masked patches blanked, when on. */
function ibotViews(views: tf.Tensor4D, b: PretrainBatch): tf.Tensor4D {
  return b.patch ? (tf.mul(views, b.patch.keep) as tf.Tensor4D) : views;
}

/** L_pre: the student's pretraining loss (DINO, plus iBOT / KoLeo when on) with student global views `views` (full forward). */
export function pretrainLoss(model: DinoModel, params: Params, views: tf.Tensor4D, b: PretrainBatch, dino: DinoConfig): tf.Scalar {
  if (!usesExtendedObjective(dino)) return studentLoss(model, params, views, b.local, b.targets, b.m, dino);
  return extendedStudentLoss(model, params, ibotViews(views, b), b.local, b.targets, b.m, dino, b.patch);
}

/** g_pre = ∇_θS L_pre by explicit gradients of a full forward (no activation reuse, no differences). */
export function pretrainGrad(model: DinoModel, s: VisionSubset, views: tf.Tensor4D, b: PretrainBatch, dino: DinoConfig): { value: tf.Scalar; grads: Grads } {
  return subsetGrad(model.student, s, (p) => pretrainLoss(model, p, views, b, dino));
}

/** Activations below S of the local views (constants of a meta step), undefined without local views. */
export function localHidden(model: DinoModel, s: VisionSubset, b: PretrainBatch): HiddenViews | undefined {
  return b.local.shape[0] > 0 ? hiddenViews(model, model.student, b.local, s.from) : undefined;
}

/**
 * ĝᵀ∇_θS L_pre(θ; views) for a unit direction ĝ, by central differences with step ε: one pass below S on the
 * views (differentiable with respect to them) and two S-forwards. Times ‖g_down‖ this is V.
 */
export function slopeAlong(model: DinoModel, s: VisionSubset, views: tf.Tensor4D, locals: HiddenViews | undefined, b: PretrainBatch, unit: Grads, eps: number, dino: DinoConfig): tf.Scalar {
  const h = hiddenViews(model, model.student, ibotViews(views, b), s.from);
  const at = (sign: number): tf.Scalar =>
    studentLossFromHidden(model, shiftedParams(model.student, s, unit, sign * eps), h, locals, s.from, b.targets, b.m, dino, b.patch);
  return tf.div(tf.sub(at(1), at(-1)), 2 * eps) as tf.Scalar;
}

/** The backbone's output tokens [B·T, D] of a feedback batch from its activations below S, under `params`. */
export function feedbackTokens(model: DinoModel, params: Params, hidden: HiddenViews, from: number): tf.Tensor2D {
  return vitForwardFrom(model.cfg.vit, params, hidden.x, hidden.B, hidden.T, from);
}

/** `steps` Adam steps of the feedback heads on batch `b`'s tokens under the current student (the backbone frozen). */
export function refitHeads(model: DinoModel, heads: FeedbackHeads, b: FeedbackBatch, steps: number): void {
  if (steps <= 0) return;
  const tokens = tf.tidy(() => feedbackTokens(model, model.student, vitHiddenBelow(model.cfg.vit, model.student, b.images, 0), 0));
  heads.step(tokens, b, steps);
  tokens.dispose();
}

/**
 * g_down = ∇_θS L_down on a labelled batch, detached, with the loss. With `refitSteps`, the heads first take
 * that many steps on this batch's tokens at the current θ (the backbone frozen for them).
 */
export function downstreamGrad(model: DinoModel, s: VisionSubset, heads: FeedbackHeads, b: FeedbackBatch, refitSteps = 0): { loss: tf.Scalar; grads: Grads } {
  const hidden = tf.tidy(() => {
    const h = vitHiddenBelow(model.cfg.vit, model.student, b.images, s.from);
    return { x: h.x, B: h.B, T: h.T };
  });
  try {
    if (refitSteps > 0) {
      const tokens = tf.tidy(() => feedbackTokens(model, model.student, hidden, s.from));
      heads.step(tokens, b, refitSteps);
      tokens.dispose();
    }
    const { value, grads } = tf.tidy(() => subsetGrad(model.student, s, (p) => heads.loss(feedbackTokens(model, p, hidden, s.from), b)));
    return { loss: value, grads };
  } finally {
    hidden.x.dispose();
  }
}

/** L_down of a labelled batch under `params` (forward only). */
export function downstreamLoss(model: DinoModel, params: Params, heads: FeedbackHeads, b: FeedbackBatch): tf.Scalar {
  return tf.tidy(() => heads.loss(feedbackTokens(model, params, vitHiddenBelow(model.cfg.vit, params, b.images, 0), 0), b));
}
