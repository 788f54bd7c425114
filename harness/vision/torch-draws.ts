/**
 * Every random draw of a vision cell that is data, made by the harness for the torch engine exactly as the tfjs
 * engine makes them while it trains (the same Rng forks, consumed in the same order): the batch order and the
 * multi-crop augmentation of every step, iBOT's patch masks, the designer's initial U-Net, the feedback heads'
 * first-fit minibatches, each meta step's feedback batch and iBOT masking, the one-step probe's crops and feedback,
 * and the random-masks control's masks. Both engines then train on the same crops from the same start.
 */
import { Rng } from '../engine/rng.js';
import type { VisionData } from './data/load.js';
import { makeCrops, type AugmentConfig, type ImagePool } from './augment.js';
import { feedbackSources, partitionFeedback, type FeedbackPartition } from './designer/feedback.js';
import { hostMaskStats, randomMasks } from './designer/masks.js';
import { randomMaskParams, type MaskTargets } from './designer/random-rule.js';
import { MIN_PROBE_BATCHES } from './designer/rule.js';
import { initUNet } from './designer/unet.js';
import { drawPatchMask } from './objective.js';
import { dinoModelConfig, stageAugment, stageDino, type VisionConfig } from './schema.js';
import { IndexSampler } from './trainer.js';
import { gridSize } from './vit.js';

/** One batch's crops as the engine reads them (view-major) and, with iBOT on, its patch masks [2B·P]. */
export interface CropDraw {
  global: Float32Array;
  local: Float32Array;
  ibot?: Uint8Array;
}

export interface DesignerDraws {
  /** The U-Net's initial parameters (the arm's 'designer-init' fork). */
  init: Record<string, { shape: number[]; data: Float32Array }>;
  sources: ReturnType<typeof feedbackSources>;
  /** Per source: the heads' images and the meta images (design.metaFraction). */
  partition: FeedbackPartition[];
  /** Steps whose update a meta step precedes. */
  metaSteps: number[];
  /** Feedback batch (source, image indices) of each meta step, then of each probe batch (from the meta images). */
  feedback: { source: number; idx: number[] }[];
  /** With design.metaFraction > 0 and refit steps: the heads' refit batch (their own images) of each meta step. */
  refit: { source: number; idx: number[] }[];
  /** iBOT masking [2k·P] of each meta step's g_pre batch (iBOT on). */
  metaIbot: Uint8Array[];
  /** The heads' first fit: one (source, indices) minibatch per step. */
  headFit: { source: number; idx: number[] }[];
  /** The one-step probe's batches (crops of held-out images). */
  probe: CropDraw[];
}

export interface MaskDraws {
  /** [steps][2B·S·S] masks in [0, 1]. */
  masks: Float32Array[];
  /** What RandomMaskRule.summary reports for them. */
  summary: Record<string, number>;
  /** The two preview draws (initial, final) of `previewImages` masks. */
  previews: [Float32Array, Float32Array];
}

export interface VisionDraws {
  crops: CropDraw[];
  designer?: DesignerDraws;
  masks?: MaskDraws;
}

function patchMaskBytes(nViews: number, P: number, dino: ReturnType<typeof stageDino>, rng: Rng): Uint8Array {
  const m = drawPatchMask(nViews, P, dino.ibotMaskProb ?? 0.5, dino.ibotMaskRatio ?? [0.1, 0.5], rng);
  return Uint8Array.from(m.mask);
}

/** The crops of `steps` learner steps (trainDino's 'order', 'augment' and 'ibot-mask' forks of the cell's 'train' fork). */
export function cropDraws(cfg: VisionConfig, pool: ImagePool, steps: number, trainRng: Rng): CropDraw[] {
  const aug = stageAugment(cfg.train, cfg.model);
  const dino = stageDino(cfg.train);
  const sampler = new IndexSampler(pool.n, cfg.train.batchSize, trainRng.fork('order'));
  const augRng = trainRng.fork('augment');
  const maskRng = trainRng.fork('ibot-mask');
  const P = gridSize(dinoModelConfig(cfg.model).vit) ** 2;
  const out: CropDraw[] = [];
  for (let step = 0; step < steps; step++) {
    const c = makeCrops(pool, sampler.next(), aug, augRng);
    out.push({ global: c.global, local: c.local, ...((dino.ibotWeight ?? 0) > 0 ? { ibot: patchMaskBytes(2 * c.B, P, dino, maskRng) } : {}) });
  }
  return out;
}

/** The steps with a meta step before their update (after burnIn, every metaEvery). */
export function metaStepsOf(cfg: VisionConfig, steps: number): number[] {
  const { burnIn, metaEvery } = cfg.design;
  const out: number[] = [];
  for (let s = burnIn; s < steps; s += metaEvery) out.push(s);
  return out;
}

/** The mask designer's draws (MaskDesignerRule's forks of the arm's Rng, in the order the rule consumes them). */
export function designerDraws(cfg: VisionConfig, data: VisionData, armRng: Rng, steps: number, probePool: ImagePool | undefined): DesignerDraws {
  const d = cfg.design;
  const dino = stageDino(cfg.train);
  const ibotOn = (dino.ibotWeight ?? 0) > 0;
  const vit = dinoModelConfig(cfg.model).vit;
  const P = gridSize(vit) ** 2;
  const init = initUNet({ width: d.designerWidth, levels: d.designerLevels, channels: vit.channels, scale: d.designerScale }, armRng.fork('designer-init'));
  const sources = feedbackSources(data, { seg: d.segWeight, depth: d.depthWeight });
  const partition = partitionFeedback(sources, d.metaFraction, d.feedbackBatch);
  const metaSteps = metaStepsOf(cfg, steps);
  const fbRng = armRng.fork('feedback-batches');
  const patchRng = armRng.fork('ibot-mask');
  let turn = 0;
  const refit: { source: number; idx: number[] }[] = [];
  // As MaskDesignerRule.nextFeedback: the source in turn, a refit batch of its head images first when separate.
  const next = (rng: Rng, withRefit = false): { source: number; idx: number[] } => {
    const source = turn++ % sources.length;
    const part = partition[source] as FeedbackPartition;
    if (withRefit) refit.push({ source, idx: rng.sample(part.head.length, d.feedbackBatch).map((i) => part.head[i] as number) });
    return { source, idx: rng.sample(part.meta.length, d.feedbackBatch).map((i) => part.meta[i] as number) };
  };
  const separateRefit = d.metaFraction > 0 && d.headRefitSteps > 0;
  const feedback: { source: number; idx: number[] }[] = [];
  const metaIbot: Uint8Array[] = [];
  const k = Math.min(d.metaBatch, cfg.train.batchSize);
  for (let i = 0; i < metaSteps.length; i++) {
    feedback.push(next(fbRng, separateRefit));
    if (ibotOn) metaIbot.push(patchMaskBytes(2 * k, P, dino, patchRng));
  }
  const probe: CropDraw[] = [];
  if (probePool && d.probeBatches >= MIN_PROBE_BATCHES) {
    const rng = armRng.fork('probe');
    const augRng = rng.fork('augment');
    const pfb = rng.fork('feedback');
    const maskRng = rng.fork('ibot-mask');
    const aug: AugmentConfig = stageAugment(cfg.train, cfg.model);
    const m = Math.min(d.metaBatch, probePool.n);
    for (let j = 0; j < d.probeBatches && (j + 1) * m <= probePool.n; j++) {
      const c = makeCrops(probePool, Array.from({ length: m }, (_, i) => j * m + i), aug, augRng);
      feedback.push(next(pfb));
      probe.push({ global: c.global, local: c.local, ...(ibotOn ? { ibot: patchMaskBytes(2 * m, P, dino, maskRng) } : {}) });
    }
  }
  // The heads' first fit (FeedbackHeads.fit): a shuffled order of each source's head images, minibatches sources in turn.
  const headFit: { source: number; idx: number[] }[] = [];
  if (metaSteps.length || probe.length) {
    const rng = armRng.fork('head-fit');
    const orders = partition.map((p) => rng.shuffle(Array.from({ length: p.head.length }, (_, i) => i)));
    const pos = sources.map(() => 0);
    for (let t = 0; t < d.headSteps; t++) {
      const si = t % sources.length;
      const order = orders[si] as number[];
      const head = (partition[si] as FeedbackPartition).head;
      const n = Math.min(d.feedbackBatch, order.length);
      if ((pos[si] as number) + n > order.length) pos[si] = 0;
      headFit.push({ source: si, idx: order.slice(pos[si], (pos[si] as number) + n).map((j) => head[j] as number) });
      pos[si] = (pos[si] as number) + n;
    }
  }
  return { init, sources, partition, metaSteps, feedback, refit, metaIbot, headFit, probe };
}

/** The random-masks control's masks (RandomMaskRule: 'match', 'masks' and 'preview' forks) and their summary. */
export function maskDraws(cfg: VisionConfig, armRng: Rng, steps: number, targets: MaskTargets | undefined, previewN: number): MaskDraws {
  const S = cfg.model.imageSize;
  const n = 2 * cfg.train.batchSize;
  const params = randomMaskParams(cfg.design, S, armRng.fork('match'), targets);
  const rng = armRng.fork('masks');
  const sums = [0, 0, 0];
  const masks: Float32Array[] = [];
  for (let s = 0; s < steps; s++) {
    const m = randomMasks(n, S, params, rng);
    const st = hostMaskStats(m, n, S);
    sums[0]! += st.keep;
    sums[1]! += st.entropy;
    sums[2]! += st.tv;
    masks.push(m);
  }
  const k = Math.max(1, steps);
  const previewRng = armRng.fork('preview');
  const previews: [Float32Array, Float32Array] = [randomMasks(previewN, S, params, previewRng), randomMasks(previewN, S, params, previewRng)];
  return {
    masks,
    previews,
    summary: {
      keep_ratio: (sums[0] as number) / k, mask_entropy: (sums[1] as number) / k, mask_tv: (sums[2] as number) / k,
      random_keep: params.keep, random_sigma: params.sigma, random_sharpness: params.sharpness, matched: targets ? 1 : 0,
    },
  };
}
