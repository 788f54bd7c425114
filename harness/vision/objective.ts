/**
 * DINOv2's two additions to the DINO objective, each off by default (`dino.ibotWeight`, `dino.koleoWeight`):
 * - an iBOT masked-patch loss: the student sees its global views with some patches blanked, and each blanked
 *   patch token, through the shared projection head, is trained to match the teacher's sharpened, centred
 *   distribution for the same token of the unmasked view (a dense, spatial signal next to DINO's CLS one);
 * - the KoLeo regulariser: −mean log distance of each L2-normalised student CLS feature to its nearest
 *   neighbour in the batch, which spreads the features and counters the rank loss DINO shows here.
 * Everything the tape needs is a 2-D matmul or an elementwise op (no gather gradient on wasm): tokens are
 * picked by a constant one-hot matrix, the nearest neighbour by a one-hot matrix built from a detached argmax.
 */
import * as tf from '@tensorflow/tfjs';
import { detach, matMul2d } from '../engine/ops.js';
import type { Rng } from '../engine/rng.js';
import { dinoLoss, sinkhornTargets, type DinoConfig } from './dino.js';
import { headForward, l2NormalizeRows } from './head.js';
import type { DinoModel } from './model.js';
import { clsTokens, gridSize, vitCls, vitTokens, type Params } from './vit.js';

/** Masked-patch settings of one step: which global-view patches the student sees blanked. */
export interface PatchMask {
  /** 1 where patch t of global view v is blanked, [2·B · P] view-major, P = grid². */
  mask: Float32Array;
  /** Row indices (into the [2·B · T] token matrix, T = 1 + P) of the blanked patch tokens. */
  rows: number[];
}

/**
 * Draws iBOT's masks: each global view is masked with probability `prob`, then a fraction of its P patches
 * drawn uniformly from `ratio` [lo, hi] (at least one patch) is blanked. At least one patch of the batch is
 * always masked, so the loss is defined.
 */
export function drawPatchMask(nViews: number, P: number, prob: number, ratio: readonly [number, number], rng: Rng): PatchMask {
  const mask = new Float32Array(nViews * P);
  const rows: number[] = [];
  const T = P + 1;
  for (let v = 0; v < nViews; v++) {
    const use = rng.next() < prob || (v === nViews - 1 && rows.length === 0);
    const frac = ratio[0] + (ratio[1] - ratio[0]) * rng.next();
    if (!use) continue;
    const picked = rng.sample(P, Math.max(1, Math.round(P * frac))).sort((a, b) => a - b);
    for (const t of picked) {
      mask[v * P + t] = 1;
      rows.push(v * T + 1 + t);
    }
  }
  return { mask, rows };
}

/** Multiplier [nViews, S, S, 1] that zeroes the masked patches of normalised images (0 is the data mean). */
export function pixelKeep(m: PatchMask, nViews: number, G: number, patchSize: number): tf.Tensor4D {
  const S = G * patchSize;
  const keep = new Float32Array(nViews * S * S).fill(1);
  for (let v = 0; v < nViews; v++) {
    for (let t = 0; t < G * G; t++) {
      if (!m.mask[v * G * G + t]) continue;
      const r = Math.floor(t / G);
      const c = t % G;
      for (let y = r * patchSize; y < (r + 1) * patchSize; y++) keep.fill(0, (v * S + y) * S + c * patchSize, (v * S + y) * S + (c + 1) * patchSize);
    }
  }
  return tf.tensor4d(keep, [nViews, S, S, 1]);
}

/** One-hot selector [rows.length, n]: selector · X picks rows `rows` of X [n, D] (a matmul, differentiable in X). */
export function rowSelector(rows: readonly number[], n: number): tf.Tensor2D {
  const sel = new Float32Array(rows.length * n);
  rows.forEach((r, i) => (sel[i * n + r] = 1));
  return tf.tensor2d(sel, [rows.length, n]);
}

/**
 * iBOT patch loss: mean over masked tokens of −Σ_k q[k]·log softmax(s/τ_s)[k], student logits `student` and
 * teacher targets `targets` both [M, K] for the same M masked tokens.
 */
export function maskedPatchLoss(student: tf.Tensor2D, targets: tf.Tensor2D, studentTemp: number): tf.Scalar {
  const logp = tf.logSoftmax(tf.div(student, studentTemp));
  return tf.div(tf.neg(tf.sum(tf.mul(targets, logp))), student.shape[0]) as tf.Scalar;
}

/**
 * KoLeo (Sablayrolles et al. 2019, as in DINOv2): −mean_i log(‖x̂_i − x̂_nn(i)‖ + eps) over the rows of x [N, D]
 * after L2 normalisation, nn(i) the nearest other row. The neighbour is chosen without gradient (an argmax
 * over cosine similarities with the diagonal excluded) and read by a one-hot matmul, so the gradient is that
 * of the distance to the fixed neighbour (the true gradient almost everywhere).
 */
export function koleoLoss(x: tf.Tensor2D, eps = 1e-8): tf.Scalar {
  return tf.tidy(() => {
    const N = x.shape[0];
    if (N < 2) return tf.scalar(0);
    const z = l2NormalizeRows(x);
    const nn = tf.tidy(() => {
      const zc = detach(z);
      const sim = tf.sub(matMul2d(zc, tf.transpose(zc) as tf.Tensor2D), tf.mul(tf.eye(N), 4));
      return tf.oneHot(tf.argMax(sim, 1), N).asType('float32') as tf.Tensor2D;
    });
    const d = tf.sqrt(tf.add(tf.sum(tf.square(tf.sub(z, matMul2d(nn, z))), 1), 1e-12));
    return tf.neg(tf.mean(tf.log(tf.add(d, eps)))) as tf.Scalar;
  });
}

/** Whether a DINO config asks for the extended objective. */
export function usesExtendedObjective(dino: DinoConfig): boolean {
  return usesIbot(dino) || (dino.koleoWeight ?? 0) > 0;
}

/** Whether iBOT's masked-patch term is on (`dino.ibotWeight` > 0). */
export function usesIbot(dino: DinoConfig): boolean {
  return (dino.ibotWeight ?? 0) > 0;
}

/** The teacher's side with iBOT: CLS logits [2·B, K] and, for the masked tokens, patch targets [M, K]. */
export function teacherSide(model: DinoModel, views: tf.Tensor4D, selector: tf.Tensor2D | undefined, dino: DinoConfig): { cls: tf.Tensor2D; patchTargets?: tf.Tensor2D } {
  const norm = model.cfg.head.norm;
  if (!selector) return { cls: headForward(model.teacher, vitCls(model.cfg.vit, model.teacher, views), norm) };
  const { tokens, B, T } = vitTokens(model.cfg.vit, model.teacher, views);
  const cls = headForward(model.teacher, clsTokens(tokens, B, T), norm);
  // Sinkhorn-Knopp over the masked tokens (DINOv2's patch centring): no extra state in the checkpoint.
  const patchTargets = sinkhornTargets(headForward(model.teacher, matMul2d(selector, tokens), norm), dino.teacherTemp);
  return { cls, patchTargets };
}

/** iBOT's masked tokens: the row selector into the global views' tokens and the teacher's targets for them. */
export interface PatchTargets {
  selector: tf.Tensor2D;
  targets: tf.Tensor2D;
}

/** Draws one step's iBOT masking of `nViews` global views under `dino`'s probability and ratio. */
export function drawIbotMask(model: DinoModel, nViews: number, dino: DinoConfig, rng: Rng): PatchMask {
  return drawPatchMask(nViews, gridSize(model.cfg.vit) ** 2, dino.ibotMaskProb ?? 0.5, dino.ibotMaskRatio ?? [0.1, 0.5], rng);
}

/**
 * A step's iBOT tensors for a masking of the global views: the teacher's CLS logits on the unmasked views, the
 * masked tokens' selector and teacher targets, and the pixel multiplier that blanks those patches in the
 * student's views. Shared by the learner's step and the designer's value, so both see the same loss.
 */
export function ibotTensors(model: DinoModel, mask: PatchMask, teacherViews: tf.Tensor4D, dino: DinoConfig): { cls: tf.Tensor2D; patch: PatchTargets; keep: tf.Tensor4D } {
  const G = gridSize(model.cfg.vit);
  const n = teacherViews.shape[0];
  const selector = rowSelector(mask.rows, n * (1 + G * G));
  const teacher = teacherSide(model, teacherViews, selector, dino);
  return { cls: teacher.cls, patch: { selector, targets: teacher.patchTargets as tf.Tensor2D }, keep: pixelKeep(mask, n, G, model.cfg.vit.patchSize) };
}

/** What the extended objective reads from the student: CLS features of the views, and output tokens when iBOT is on. */
export interface StudentFeatures {
  /** Global views' CLS features [2·B, D] (final norm). */
  globalCls: tf.Tensor2D;
  /** Global views' output tokens [2·B·T, D], needed for the masked-patch term. */
  globalTokens?: tf.Tensor2D;
  /** Local views' CLS features [nLocal·B, D], if any. */
  localCls?: tf.Tensor2D;
}

/**
 * DINO's CLS loss on the student's (masked) global views and the local views, plus λ_p · iBOT patch loss on the
 * masked tokens and λ_k · KoLeo on each global view's CLS features. Reduces to {@link dinoLoss} with both at 0.
 */
export function extendedStudentLoss(model: DinoModel, params: Params, globalViews: tf.Tensor4D, local: tf.Tensor4D, targets: tf.Tensor2D, B: number, dino: DinoConfig, patch?: PatchTargets): tf.Scalar {
  const cfg = model.cfg.vit;
  const { tokens, T } = patch ? vitTokens(cfg, params, globalViews) : { tokens: undefined, T: 0 };
  const features: StudentFeatures = {
    globalCls: tokens ? clsTokens(tokens, 2 * B, T) : vitCls(cfg, params, globalViews),
    ...(tokens ? { globalTokens: tokens } : {}),
    ...(local.shape[0] > 0 ? { localCls: vitCls(cfg, params, local) } : {}),
  };
  return extendedLossFrom(model, params, features, targets, B, dino, patch);
}

/** The extended objective from the student's features (however they were computed: full forward or from below S). */
export function extendedLossFrom(model: DinoModel, params: Params, f: StudentFeatures, targets: tf.Tensor2D, B: number, dino: DinoConfig, patch?: PatchTargets): tf.Scalar {
  if (model.cfg.head.pool === 'mean') throw new Error("dino.ibotWeight / dino.koleoWeight need model.headPool 'cls'");
  const norm = model.cfg.head.norm;
  const parts = [headForward(params, f.globalCls, norm)];
  if (f.localCls) parts.push(headForward(params, f.localCls, norm));
  let loss = dinoLoss(parts.length === 1 ? (parts[0] as tf.Tensor2D) : tf.concat(parts, 0), targets, B, dino.studentTemp);
  if (patch && f.globalTokens && usesIbot(dino)) {
    const sPatch = headForward(params, matMul2d(patch.selector, f.globalTokens), norm);
    loss = tf.add(loss, tf.mul(maskedPatchLoss(sPatch, patch.targets, dino.studentTemp), dino.ibotWeight ?? 0));
  }
  if ((dino.koleoWeight ?? 0) > 0) {
    const clsFeat = f.globalCls;
    const per = [0, 1].map((v) => koleoLoss(tf.slice(clsFeat, [v * B, 0], [B, clsFeat.shape[1]]) as tf.Tensor2D));
    loss = tf.add(loss, tf.mul(tf.div(tf.add(per[0] as tf.Scalar, per[1] as tf.Scalar), 2), dino.koleoWeight ?? 0));
  }
  return loss as tf.Scalar;
}
