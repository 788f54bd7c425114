/**
 * Dense downstream feedback for the mask designer (METHOD.md §4, meta step (1)–(2)): light linear heads on the
 * learner's patch tokens, a segmentation head (pixel cross-entropy, ignore label skipped) and a depth head (L1
 * on valid pixels), logits resized bilinearly to the label size. They are fitted on the labelled feedback
 * images with the backbone frozen, then follow the moving backbone with a few steps per meta step. Their
 * loss L_down = α_seg·CE + α_dep·L1 is what g_down differentiates; the labels reach nothing else.
 * Token features are standardised with the feedback set's statistics at the first fit (BatchNorm with frozen
 * statistics, as the probes do); the heads read patch tokens only.
 */
import * as tf from '@tensorflow/tfjs';
import type { VisionData } from '../data/load.js';
import { IGNORE_LABEL, type VisionSplit } from '../data/types.js';
import { linear } from '../../engine/ops.js';
import type { Rng } from '../../engine/rng.js';
import { columnStats } from '../probes/features.js';
import { upsampleBilinear } from '../probes/upsample.js';
import { normalizedCopy } from '../augment.js';
import { gridSize, patchTokens, vitTokens, type Params, type VitConfig } from '../vit.js';

/** One labelled feedback split and the losses its annotations feed. */
export interface FeedbackSource {
  split: VisionSplit;
  seg: boolean;
  depth: boolean;
}

/** The feedback splits of the data: one source when segmentation and depth share images, else one each. */
export function feedbackSources(data: VisionData, weights: { seg: number; depth: number }): FeedbackSource[] {
  const seg = weights.seg > 0 && data.feedback.segmentation?.seg ? data.feedback.segmentation : undefined;
  const depth = weights.depth > 0 && data.feedback.depth?.depth ? data.feedback.depth : undefined;
  if (seg && seg === depth) return [{ split: seg, seg: true, depth: true }];
  const out: FeedbackSource[] = [];
  if (seg) out.push({ split: seg, seg: true, depth: false });
  if (depth) out.push({ split: depth, seg: false, depth: true });
  if (!out.length) {
    throw new Error('designer arms need labelled feedback images: the data has no feedback split with segmentation or depth maps (data.feedback, or data.feedbackFraction for files), or design.segWeight and design.depthWeight are both 0');
  }
  return out;
}

/** A source's images the feedback heads fit on, and those g_down is taken on (design.metaFraction). */
export interface FeedbackPartition {
  head: number[];
  meta: number[];
}

/**
 * Splits each source's images: the last ⌈metaFraction·n⌉ are the meta set (g_down and the one-step probe), the rest
 * the heads' (their first fit and every refit), as the paper keeps separate head-training and meta sets. At 0 both
 * are every image (the heads then refit on the very batch g_down is taken on). Too few images on either side is
 * one line naming the split and the keys.
 */
export function partitionFeedback(sources: readonly FeedbackSource[], metaFraction: number, feedbackBatch: number): FeedbackPartition[] {
  return sources.map((src) => {
    const n = src.split.n;
    const kind = src.seg && src.depth ? 'segmentation + depth' : src.seg ? 'segmentation' : 'depth';
    const all = Array.from({ length: n }, (_, i) => i);
    if (metaFraction <= 0) return { head: all, meta: all };
    const m = Math.ceil(metaFraction * n);
    if (m < feedbackBatch || n - m < feedbackBatch) {
      throw new Error(`design.metaFraction ${metaFraction} splits the ${n} ${kind} feedback images into ${n - m} for the heads and ${m} for meta batches; each side needs at least design.feedbackBatch ${feedbackBatch}`);
    }
    return { head: all.slice(0, n - m), meta: all.slice(n - m) };
  });
}

/** A labelled batch on the device. */
export interface FeedbackBatch {
  B: number;
  /** Normalised images [B, S, S, 3]. */
  images: tf.Tensor4D;
  labelSize: number;
  seg?: { ids: tf.Tensor1D; mask: tf.Tensor1D; valid: number };
  depth?: { gt: tf.Tensor1D; mask: tf.Tensor1D; valid: number };
}

/** Images `idx` of a source with their labels as tensors. */
export function feedbackBatch(src: FeedbackSource, idx: readonly number[], numClasses: number): FeedbackBatch {
  const s = src.split;
  const px = s.size * s.size * 3;
  const L = s.labelSize;
  const LL = L * L;
  const host = new Float32Array(idx.length * px);
  idx.forEach((i, k) => host.set(s.images.subarray(i * px, (i + 1) * px), k * px));
  const out: FeedbackBatch = { B: idx.length, images: tf.tensor4d(normalizedCopy(host), [idx.length, s.size, s.size, 3]), labelSize: L };
  if (src.seg && s.seg) {
    const ids = new Int32Array(idx.length * LL);
    const mask = new Float32Array(idx.length * LL);
    let valid = 0;
    idx.forEach((i, k) => {
      for (let j = 0; j < LL; j++) {
        const v = s.seg?.[i * LL + j] as number;
        if (v === IGNORE_LABEL) continue;
        if (v >= numClasses) throw new Error(`feedback: class ${v} in ${s.ids[i]} is outside [0, ${numClasses})`);
        ids[k * LL + j] = v;
        mask[k * LL + j] = 1;
        valid++;
      }
    });
    out.seg = { ids: tf.tensor1d(ids, 'int32'), mask: tf.tensor1d(mask), valid: Math.max(1, valid) };
  }
  if (src.depth && s.depth) {
    const gt = new Float32Array(idx.length * LL);
    const mask = new Float32Array(idx.length * LL);
    let valid = 0;
    idx.forEach((i, k) => {
      for (let j = 0; j < LL; j++) {
        const v = s.depth?.[i * LL + j] as number;
        gt[k * LL + j] = v;
        if (v > 0) {
          mask[k * LL + j] = 1;
          valid++;
        }
      }
    });
    out.depth = { gt: tf.tensor1d(gt), mask: tf.tensor1d(mask), valid: Math.max(1, valid) };
  }
  return out;
}

export function disposeFeedbackBatch(b: FeedbackBatch): void {
  const ts: (tf.Tensor | undefined)[] = [b.images, b.seg?.ids, b.seg?.mask, b.depth?.gt, b.depth?.mask];
  tf.dispose(ts.filter((t): t is tf.Tensor => t !== undefined));
}

/** Settings of the feedback heads. */
export interface FeedbackHeadsConfig {
  /** Loss weights α_seg, α_dep. */
  seg: number;
  depth: number;
  /** Segmentation classes. */
  numClasses: number;
  /** Adam learning rate. */
  lr: number;
}

/** The linear heads, their feature statistics and their optimiser. */
export class FeedbackHeads {
  readonly vars: Record<string, tf.Variable> = {};
  private stats: { mean: tf.Tensor1D; invStd: tf.Tensor1D } | undefined;
  private readonly opt: tf.Optimizer;

  constructor(readonly vit: VitConfig, readonly cfg: FeedbackHeadsConfig, readonly sources: readonly FeedbackSource[]) {
    const D = vit.width;
    tf.tidy(() => {
      if (sources.some((s) => s.seg)) {
        this.vars['seg.w'] = tf.variable(tf.zeros([D, cfg.numClasses]));
        this.vars['seg.b'] = tf.variable(tf.zeros([cfg.numClasses]));
      }
      if (sources.some((s) => s.depth)) {
        this.vars['depth.w'] = tf.variable(tf.zeros([D, 1]));
        this.vars['depth.b'] = tf.variable(tf.zeros([1]));
      }
    });
    this.opt = tf.train.adam(cfg.lr);
  }

  get fitted(): boolean {
    return this.stats !== undefined;
  }

  /**
   * L_down of a labelled batch given the backbone's output tokens [B·T, D]: α_seg·CE + α_dep·L1 (each term
   * averaged over its valid pixels). `heads` defaults to the current head variables.
   */
  loss(tokens: tf.Tensor2D, b: FeedbackBatch, heads: Params = this.vars): tf.Scalar {
    if (!this.stats) throw new Error('feedback heads used before their first fit');
    const D = this.vit.width;
    const g = gridSize(this.vit);
    const T = 1 + g * g;
    const x = tf.mul(tf.sub(patchTokens(tokens, b.B, T).reshape([b.B * g * g, D]), this.stats.mean), this.stats.invStd) as tf.Tensor2D;
    const L = b.labelSize;
    const terms: tf.Scalar[] = [];
    if (b.seg && heads['seg.w']) {
      const C = this.cfg.numClasses;
      const z = linear(x, heads['seg.w'] as tf.Tensor2D, heads['seg.b'] as tf.Tensor1D).reshape([b.B, g, g, C]) as tf.Tensor4D;
      const logp = tf.logSoftmax(upsampleBilinear(z, L).reshape([-1, C]));
      const picked = tf.sum(tf.mul(logp, tf.oneHot(b.seg.ids, C)), 1);
      terms.push(tf.mul(tf.div(tf.neg(tf.sum(tf.mul(picked, b.seg.mask))), b.seg.valid), this.cfg.seg) as tf.Scalar);
    }
    if (b.depth && heads['depth.w']) {
      const z = linear(x, heads['depth.w'] as tf.Tensor2D, heads['depth.b'] as tf.Tensor1D).reshape([b.B, g, g, 1]) as tf.Tensor4D;
      const pred = upsampleBilinear(z, L).reshape([-1]);
      const l1 = tf.div(tf.sum(tf.mul(tf.abs(tf.sub(pred, b.depth.gt)), b.depth.mask)), b.depth.valid);
      terms.push(tf.mul(l1, this.cfg.depth) as tf.Scalar);
    }
    if (!terms.length) throw new Error('feedback batch has no labels the heads read');
    return (terms.length === 1 ? terms[0] : tf.addN(terms)) as tf.Scalar;
  }

  /** `steps` Adam steps of the heads on fixed tokens [B·T, D] of batch `b` (the backbone frozen). */
  step(tokens: tf.Tensor2D, b: FeedbackBatch, steps: number): void {
    for (let t = 0; t < steps; t++) {
      tf.tidy(() => {
        const { grads, value } = tf.variableGrads(() => this.loss(tokens, b), Object.values(this.vars));
        this.opt.applyGradients(grads);
        value.dispose();
      });
    }
  }

  /**
   * The first fit: standardisation statistics from the patch tokens of the heads' images under `params` (the
   * student backbone), then `steps` Adam steps over minibatches of `batch` images, sources in turn. `images` lists,
   * per source, the images the heads may fit on (design.metaFraction keeps the rest for g_down); default all.
   */
  fit(params: Params, steps: number, batch: number, rng: Rng, images?: readonly (readonly number[])[]): void {
    const D = this.vit.width;
    const g = gridSize(this.vit);
    const T = 1 + g * g;
    const lists = this.sources.map((src, si) => images?.[si] ?? Array.from({ length: src.split.n }, (_, i) => i));
    const stored = this.sources.map((src, si) => {
      const idx = lists[si] as readonly number[];
      const all = new Float32Array(idx.length * T * D);
      for (let a = 0; a < idx.length; a += 64) {
        const b = feedbackBatch({ ...src, seg: false, depth: false }, idx.slice(a, a + 64), this.cfg.numClasses);
        const t = tf.tidy(() => vitTokens(this.vit, params, b.images).tokens);
        all.set(t.dataSync() as Float32Array, a * T * D);
        t.dispose();
        disposeFeedbackBatch(b);
      }
      return all;
    });
    // Statistics over patch rows only (CLS rows skipped).
    const rows = stored.reduce((s, a) => s + a.length / D, 0);
    const pr = new Float32Array((rows - rows / T) * D);
    let k = 0;
    for (const a of stored) for (let r = 0; r < a.length / D; r++) {
      if (r % T === 0) continue;
      pr.set(a.subarray(r * D, (r + 1) * D), k * D);
      k++;
    }
    const st = columnStats(pr, D);
    this.stats = { mean: tf.keep(tf.tensor1d(st.mean)), invStd: tf.keep(tf.tensor1d(st.invStd)) };
    // Minibatches are positions in each source's list (its image indices when the list is every image).
    const orders = lists.map((l) => rng.shuffle(Array.from({ length: l.length }, (_, i) => i)));
    const pos = this.sources.map(() => 0);
    for (let t = 0; t < steps; t++) {
      const si = t % this.sources.length;
      const src = this.sources[si] as FeedbackSource;
      const order = orders[si] as number[];
      const list = lists[si] as readonly number[];
      const n = Math.min(batch, order.length);
      if ((pos[si] as number) + n > order.length) pos[si] = 0;
      const at = order.slice(pos[si], (pos[si] as number) + n);
      pos[si] = (pos[si] as number) + n;
      const b = feedbackBatch(src, at.map((j) => list[j] as number), this.cfg.numClasses);
      const data = stored[si] as Float32Array;
      const tok = new Float32Array(n * T * D);
      at.forEach((j, r) => {
        tok.set(data.subarray(j * T * D, (j + 1) * T * D), r * T * D);
      });
      const tokens = tf.tensor2d(tok, [n * T, D]);
      this.step(tokens, b, 1);
      tokens.dispose();
      disposeFeedbackBatch(b);
    }
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
    this.opt.dispose();
    if (this.stats) tf.dispose([this.stats.mean, this.stats.invStd]);
  }
}
