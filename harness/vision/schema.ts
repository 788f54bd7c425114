/**
 * The vision suite's keys (`model`, `data`, `base`, `train`, `design`, `eval`) as strict zod objects: an unknown
 * key is an error naming it, every field has a documented default, and the parsed result is what gets hashed.
 * The suite-level wrapper (name, seeds, arms, backend, the `task: 'vision'` discriminator) belongs to the
 * suite schema; these objects slot into it.
 */
import { z } from 'zod';
import { armEntryBase, commonSuiteKeys } from '../suite/schema.js';
import type { AdamWConfig } from '../optim/adamw.js';
import type { AugmentConfig } from './augment.js';
import type { DinoConfig } from './dino.js';
import type { DinoModelConfig } from './model.js';

const int = (min: number) => z.number().int().min(min);
const frac = z.number().min(0).max(1);
const range01 = z.tuple([frac, frac]).refine(([a, b]) => a <= b, 'range must be [low, high] with low ≤ high');

/** ViT backbone and DINO projection head. */
export const VisionModelSchema = z.strictObject({
  /** Input side in pixels (global crops and probe images). Default 32. */
  imageSize: int(4).default(32),
  /** Patch side; must divide imageSize and augment.localSize. Default 4. */
  patchSize: int(1).default(4),
  /** Token width D. Default 64. */
  width: int(8).default(64),
  /** Transformer blocks. Default 4. */
  depth: int(1).default(4),
  /** Attention heads; must divide width. Default 4. */
  heads: int(1).default(4),
  /** MLP hidden width as a multiple of D. Default 4. */
  mlpRatio: int(1).default(4),
  /** Initial position table: 'sincos' (2-D sin-cos, rms 0.5, learned) or 'normal' (N(0, 0.02²)). Default 'sincos'. */
  posInit: z.enum(['sincos', 'normal']).default('sincos'),
  /** Projection head: MLP hidden width. Default 256. */
  headHidden: int(1).default(256),
  /** Projection head: bottleneck before the weight-normalised layer. Default 64. */
  headBottleneck: int(1).default(64),
  /** Projection head: output dimension K. Default 1024. */
  headOut: int(2).default(1024),
  /** Projection head: BatchNorm after each hidden layer ('batch', DINO's use_bn_in_head) or none. Default 'none'. */
  headNorm: z.enum(['none', 'batch']).default('none'),
  /** Projection head input: the CLS token ('cls') or the mean of the patch tokens ('mean'). Default 'cls'. */
  headPool: z.enum(['cls', 'mean']).default('cls'),
  /**
   * A pretrained backbone to continue from instead of the base stage: a folder in the Hugging Face Dinov2Model layout
   * (config.json + model.safetensors; Dinov2WithRegistersModel too) or DINOv3ViTModel layout (model_type `dinov3_vit`;
   * docs/vision-torch.md, "DINOv3 backbones"), trained on the torch engine (`trainer: 'torch'`). Its config.json must
   * agree with patchSize, width, depth and heads; imageSize is the crop (DINOv2's position embeddings are
   * interpolated to it; DINOv3's RoPE needs none); the projection head (headHidden, ...) is drawn from base.seed.
   * Absent: the base stage's ViT.
   */
  backbone: z.string().optional(),
  /**
   * Which implementation runs a pretrained `backbone` on the torch engine: 'auto' (transformers' own model class when
   * transformers ≥ 4.48 imports with the family's class, else the built-in), 'built-in' or 'transformers' (refused in
   * one line where it cannot run). The cell's engine record names the one that ran (`paths.models`). Default 'auto'.
   */
  implementation: z.enum(['auto', 'built-in', 'transformers']).default('auto'),
});

/** Where the images come from: the embedded scene generator (default) or files in published layouts. */
export const VisionDataSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded'),
    /** Generator seed; the same for every training seed. Default 1234. */
    seed: int(0).default(1234),
    /** Unlabeled images for pretraining. Default 2048. */
    unlabeled: int(1).default(2048),
    /** Labelled feedback images (the designer's, issue 11). Default 256. */
    feedback: int(0).default(256),
    /** Probe training images. Default 512. */
    probeTrain: int(1).default(512),
    /** Probe validation images (hyperparameter choice). Default 256. */
    validation: int(1).default(256),
    /** Probe test images (reported). Default 512. */
    test: int(1).default(512),
    /**
     * Image label: 'nearest-type' (the nearest shape's type, 3 classes; crops, flips and colour jitter keep it) or
     * 'nearest-type-side' (× the half of the image its centre is in, 6 classes; a flip changes it). Default 'nearest-type'.
     */
    label: z.enum(['nearest-type', 'nearest-type-side']).default('nearest-type'),
    /** Shapes carry their type's surface pattern (squares horizontal, triangles vertical stripes). Default true. */
    patterns: z.boolean().default(true),
  }),
  z.strictObject({
    kind: z.literal('files'),
    /** Folder of unlabeled images (searched recursively; PNG or JPEG by magic bytes). */
    unlabeled: z.string(),
    /** ADE20K root (holding ADEChallengeData2016): probe-train from `training`, test from `validation`. */
    ade20k: z.string().optional(),
    /** NYUv2 RGB + depth folders for probe-train and test. */
    nyuv2Train: z.string().optional(),
    nyuv2Test: z.string().optional(),
    /** ImageNet ImageFolder roots for probe-train and test, and LOC_synset_mapping.txt. */
    imagenetTrain: z.string().optional(),
    imagenetTest: z.string().optional(),
    synsetMapping: z.string().optional(),
    /** Share of each probe-train set held out as its validation split. Default 0.1. */
    validationFraction: frac.default(0.1),
    /** Share of the ADE20K and NYUv2 probe-train sets held out as designer feedback. Default 0.1. */
    feedbackFraction: frac.default(0.1),
    /** Seed of those hold-outs. Default 1234. */
    seed: int(0).default(1234),
    /** Read at most this many images per folder (0 = all). Default 0. */
    limit: int(0).default(0),
  }),
]);

/** DINO objective settings. */
export const DinoSchema = z.strictObject({
  /** Student temperature. Default 0.1. */
  studentTemp: z.number().positive().default(0.1),
  /** Teacher temperature. Default 0.04. */
  teacherTemp: z.number().positive().default(0.04),
  /** Centre EMA momentum. Default 0.9. */
  centerMomentum: frac.default(0.9),
  /** Teacher EMA momentum at the start of a stage, cosine to 1 at its end. Default 0.996. */
  teacherMomentum: frac.default(0.996),
  /** Teacher centring: 'ema' (DINO's EMA centre) or 'sinkhorn' (DINOv2's Sinkhorn-Knopp). Default 'ema'. */
  centering: z.enum(['ema', 'sinkhorn']).default('ema'),
  /** Weight of the iBOT masked-patch loss next to DINO's (0 = off, DINO alone). Default 0. */
  ibotWeight: z.number().min(0).default(0),
  /** Probability that a global view is masked for iBOT. Default 0.5. */
  ibotMaskProb: frac.default(0.5),
  /** Fraction [lo, hi] of a masked view's patches blanked (uniform). Default [0.1, 0.5]. */
  ibotMaskRatio: z.tuple([frac, frac]).refine(([lo, hi]) => lo <= hi, 'ibotMaskRatio: lo must not exceed hi').default([0.1, 0.5]),
  /** Weight of DINOv2's KoLeo regulariser on the student's global CLS features (0 = off). Default 0. */
  koleoWeight: z.number().min(0).default(0),
});

/** Multi-crop augmentation settings (DINO's recipe scaled to 32-px images). */
export const AugmentSchema = z.strictObject({
  /** Local crop side (a multiple of patchSize). Default 16. */
  localSize: int(1).default(16),
  /** Local crops per image. Default 4. */
  nLocal: int(0).default(4),
  /**
   * Area range of global crops. Default [0.4, 1] (DINO's). [0.7, 1] was measured too (docs/vision-diagnosis.md,
   * "Learner options"): better depth, worse pixel accuracy, all within seed noise.
   */
  globalScale: range01.default([0.4, 1]),
  /** Area range of local crops. Default [0.05, 0.4]. */
  localScale: range01.default([0.05, 0.4]),
  /** Colour jitter probability and strengths. Defaults 0.8; 0.4, 0.4, 0.2, 0.1. */
  jitterP: frac.default(0.8),
  brightness: frac.default(0.4),
  contrast: frac.default(0.4),
  saturation: frac.default(0.2),
  hue: z.number().min(0).max(0.5).default(0.1),
  /** Grayscale probability. Default 0.2. */
  grayscaleP: frac.default(0.2),
  /** Blur σ range in pixels. Default [0.1, 0.3] (DINO's [0.1, 2.0] at 224 px, scaled). */
  blurSigma: z.tuple([z.number().positive(), z.number().positive()]).default([0.1, 0.3]),
  /** Blur probability for global 1, global 2, local. Default [1, 0.1, 0.5]. */
  blurP: z.tuple([frac, frac, frac]).default([1, 0.1, 0.5]),
  /** Solarisation probability of global view 2. Default 0.2. */
  solarizeP: frac.default(0.2),
});

/** One DINO training stage (optimiser, schedule, objective, crops). */
const StageSchema = z.strictObject({
  steps: int(0),
  /** Images per step (each gives 2 global + nLocal local views). Default 32. */
  batchSize: int(1).default(32),
  /** Peak learning rate (AdamW). Default 1e-3. */
  lr: z.number().positive().default(1e-3),
  warmupSteps: int(0).default(10),
  /** Final learning rate as a fraction of the peak (cosine). Default 0.1. */
  minLrRatio: frac.default(0.1),
  /** Decoupled weight decay on matrices. Default 0.04 (DINO's starting value). */
  weightDecay: z.number().min(0).default(0.04),
  /** Global gradient-norm clip (0 = off). Default 3 (DINO's). */
  gradClip: z.number().min(0).default(3),
  beta1: frac.default(0.9),
  beta2: frac.default(0.999),
  eps: z.number().positive().default(1e-8),
  /** Read losses every this many steps. Default 10. */
  logEvery: int(1).default(10),
  dino: DinoSchema.prefault({}),
  augment: AugmentSchema.prefault({}),
});

/** Base pretraining from random initialisation (cached; shared by every arm and seed). */
export const VisionBaseSchema = StageSchema.extend({
  /** Seed of the initialisation and the base stage's data order. Default 0. */
  seed: int(0).default(0),
  steps: int(0).default(150),
});

/** Continued pretraining of each cell from the base checkpoint. */
export const VisionTrainSchema = StageSchema.extend({
  steps: int(0).default(100),
  /**
   * The AdamW state the stage starts from: 'fresh' (zero moments, a restart with this stage's warm-up) or
   * 'continued' (the base stage's moments and bias correction, saved with its checkpoint, so the continued stage is
   * the same optimiser carrying on, as when the paper continues a pretrained run). The learning-rate schedule (lr,
   * warmupSteps, minLrRatio) is this stage's either way. A pretrained `model.backbone` has no state to continue.
   * Default 'fresh'.
   */
  optimizer: z.enum(['fresh', 'continued']).default('fresh'),
});

/**
 * The mask designer of the designer arms (METHOD.md §4) and the controls' masks; ignored by `baseline`.
 * The student's global views become μ⊙v + (1−μ)⊙Blur(v); the teacher keeps seeing v.
 */
export const VisionDesignSchema = z.strictObject({
  /** Parameter subset S = the backbone's last n blocks + final norm. Default 2. */
  subsetBlocks: int(1).default(2),
  /** Learner steps before the first designer update (the untrained designer masks them). Default 10. */
  burnIn: int(0).default(10),
  /** One designer update every r learner steps (METHOD: r ∈ {2, 4, 8}). Default 4. */
  metaEvery: int(1).default(4),
  /**
   * Images of the learner's batch the meta step's g_pre uses (its 2 global + local crops). Default 16: on the
   * quick suite the designer's value gradient at 8 images (with 8 feedback images) pointed nowhere in particular
   * (cosine to the previous meta step's 0.03 on average); at 16 (with 16) it settled in one run (0.52) but not in
   * the suite's two cells (−0.08, 0.18), for a meta step about 2–3× a learner step instead of 1–1.3×
   * (docs/vision-diagnosis.md, 2026-11-27).
   */
  metaBatch: int(1).default(16),
  /**
   * Momentum β of the feedback direction across meta steps: the designer ascends along the unit direction of
   * the running average ḡ ← β·ḡ + (1−β)·g_down (the same for random feedback's Gaussians), not along one
   * batch's g_down. 0 = this meta step's g_down alone. Default 0.
   */
  downMomentum: frac.default(0),
  /**
   * Also evaluate V̂ after the designer's update on the same batch and direction (`valueAfter` in
   * `curves.designer`; one extra pair of S-forwards per meta step). Default false.
   */
  valueAfter: z.boolean().default(false),
  /** Labelled feedback images per g_down. Default 16 (cosine between successive g_down 0.57 at 8, 0.77 at 16). */
  feedbackBatch: int(1).default(16),
  /** U-Net: base width (channels of the first level, doubled per level). Default 16. */
  designerWidth: int(1).default(16),
  /** U-Net: resolution levels (2 = one pooling step). Default 2. */
  designerLevels: int(1).max(4).default(2),
  /** U-Net: runs on the image average-pooled by this factor, logits resized back (cost ∝ 1/scale²). Default 2. */
  designerScale: int(1).default(2),
  /**
   * Designer Adam learning rate (0 freezes it). Default 3e-2: at 3e-3 and 1e-2 the 13 updates of the quick suite
   * left the masks at μ ≈ 0.5 (docs/vision-diagnosis.md).
   */
  designerLr: z.number().min(0).default(3e-2),
  /**
   * Central-difference step along the unit ĝ_down for the value and its designer gradient: error O(ε²) from
   * curvature plus float32 rounding of the loss difference ∝ 1/ε. Measured on the quick suite's base checkpoint
   * against explicit gradients: 7–9% off at 1e-3, 1–4% at 1e-2, 0.5–1.6% at 3e-2, 0.1–0.6% at 1e-1. Default 5e-2.
   */
  fdEpsilon: z.number().positive().default(5e-2),
  /**
   * Designer objective −w·V̂ + regularisers, V̂ = V/‖g_down‖ (the slope of the learner's loss along the unit
   * feedback direction, so the weight does not depend on the downstream loss's scale). Default 1.
   */
  valueWeight: z.number().min(0).default(1),
  /**
   * Keep-ratio penalty: 'sine' = w/sin(π·mean μ) (ADIOS; lowest at 0.5, with zero gradient there), 'quadratic' =
   * w·(mean μ − keepTarget)². Default 'quadratic'.
   */
  keepPenalty: z.enum(['sine', 'quadratic']).default('quadratic'),
  /** Weight of the keep-ratio penalty (per mask, averaged). Default 1. */
  keepWeight: z.number().min(0).default(1),
  /**
   * Centre each designer mask's logits on logit(keepTarget) (see the U-Net's `centre`): the keep ratio cannot
   * drift as a whole, only where the mask hides moves. Default true: without it, designer lr 3e-2 swung the
   * quick suite's keep ratio between 0.08 and 0.93 (Adam's first steps move the output bias by the full lr),
   * with it the keep ratio stayed in 0.494–0.513.
   */
  keepCentering: z.boolean().default(true),
  /** Target mean μ of the quadratic penalty, and of random masks without a designer cell to match. Default 0.5. */
  keepTarget: frac.default(0.5),
  /**
   * Weight of the masks' total variation (mean |Δμ| between neighbouring pixels). Default 0: at 1e-2 and at 1e-3,
   * the only consistent term of a noisy objective, it flattened the quick suite's masks back to μ ≈ 0.5; at 0 the
   * same cell's masks kept their structure (docs/vision-diagnosis.md, 2026-11-27). The U-Net's logits on the
   * half-resolution grid, upsampled bilinearly, are smooth without it.
   */
  tvWeight: z.number().min(0).default(0),
  /** σ (pixels) of the blur that replaces what a mask hides. Default 2. */
  maskBlurSigma: z.number().positive().default(2),
  /** How far a mask may blur: the applied mask is 1 − strength·(1 − μ) (0 = views untouched). Default 1. */
  maskStrength: frac.default(1),
  /** Downstream loss weights: pixel cross-entropy (segmentation) and L1 on valid depth. Defaults 1, 1. */
  segWeight: z.number().min(0).default(1),
  depthWeight: z.number().min(0).default(1),
  /** Feedback heads: Adam steps of the first fit on the feedback set (backbone frozen), and their learning rate. Defaults 100, 1e-2. */
  headSteps: int(0).default(100),
  headLr: z.number().positive().default(1e-2),
  /**
   * Feedback heads: steps before each g_down that track the moving backbone: on a batch of the heads' own images when
   * metaFraction > 0, else on the very batch g_down is then taken on. Default 2.
   */
  headRefitSteps: int(0).default(2),
  /**
   * Share of each feedback split kept for meta batches (g_down and the one-step probe's downstream loss); the heads
   * fit and refit on the rest only, as the paper keeps separate head-training (2,000) and meta (512) sets. 0 = one
   * set for both (the heads then fit the very images g_down is taken on). Default 0.
   */
  metaFraction: z.number().min(0).max(0.9).default(0),
  /** One-step probe: held-out unlabeled batches of metaBatch images (0 = off; r reported from 5 on). Default 6. */
  probeBatches: int(0).default(6),
  /**
   * One-step probe: step size η of θ_S ← θ_S − η·g_pre. Default 1: a step about as long as the learner's AdamW
   * step on S (‖g_pre‖ ≈ 0.3 and lr 1e-3 over ~1e5 parameters of S, measured on the quick suite); at 1e-2 the
   * first-order prediction is exact to r = 0.9999 and says nothing.
   */
  probeLr: z.number().positive().default(1),
  /** Random masks without a designer cell to match: σ (pixels) of the smoothed noise and the sigmoid sharpness. Defaults 3, 4. */
  randomMaskSigma: z.number().positive().default(3),
  randomMaskSharpness: z.number().positive().default(4),
  /** Masks saved as PNG next to the cell's results (image, mask, masked view per row; 0 = none). Default 4. */
  previewImages: int(0).default(4),
});

/** Frozen-backbone probes. */
export const VisionEvalSchema = z.strictObject({
  /** Which network's backbone is probed: DINO evaluates the teacher. Default 'teacher'. */
  backbone: z.enum(['teacher', 'student']).default('teacher'),
  /**
   * Blocks whose tokens the probes read: the last `layers` blocks, each through the final LayerNorm, concatenated
   * (DINOv2's linear protocol "lin. 4" at 4). One number for every probe, or one per probe
   * (`{ segmentation, depth, classification }`, each defaulting to 1): DINOv2 reads the last four layers for its dense
   * probes and the last layer for linear classification. Default 1 (the output tokens).
   */
  layers: z.union([int(1), z.strictObject({ segmentation: int(1).default(1), depth: int(1).default(1), classification: int(1).default(1) })]).default(1),
  /**
   * How a cell's probes get their learning rate (ridge strength for depth): 'each' searches the grid on validation
   * for every backbone (DINOv2's protocol); 'base' uses what the base checkpoint's search chose, so every arm and
   * seed is probed alike and a near-tie on validation cannot flip a cell's probe (the reference rows search their
   * own either way). Default 'each'.
   */
  select: z.enum(['each', 'base']).default('each'),
  /**
   * The split the probes report: 'test' or 'validation' (to choose a setting without looking at test; each probe
   * still chooses its hyperparameter on validation, so validation scores are the better of the grid's). Default 'test'.
   */
  report: z.enum(['test', 'validation']).default('test'),
  /** Probes to run (when the data has their labels). Default all three. */
  probes: z.array(z.enum(['segmentation', 'depth', 'classification'])).default(['segmentation', 'depth', 'classification']),
  /** Segmentation / classification learning-rate grid. Default [0.03, 0.1, 0.3]. */
  lrGrid: z.array(z.number().positive()).min(1).default([0.03, 0.1, 0.3]),
  /** Depth ridge grid. Default [1e-3, 1e-2, 1e-1, 1]. */
  ridgeGrid: z.array(z.number().positive()).min(1).default([1e-3, 1e-2, 1e-1, 1]),
  /** Segmentation probe AdamW steps (minibatches of batchImages). Default 200. */
  segmentationSteps: int(1).default(200),
  /** Classification probe full-batch steps. Default 300. */
  classificationSteps: int(1).default(300),
  /** Images per dense-probe minibatch. Default 64. */
  batchImages: int(1).default(64),
  /** Classification features CLS ‖ mean patch (true) or CLS alone. Default true. */
  useMeanPatch: z.boolean().default(true),
  /** Bootstrap resamples for segmentation stderr. Default 200. */
  bootstrap: int(0).default(200),
  /** Bootstrap seed. Default 0. */
  seed: int(0).default(0),
  /**
   * Label spaces the probes' data must have (e.g. ImageNet-1k's 1000 classes, ADE20K's 150): checked before any
   * work, one line naming the data when they differ. Absent: whatever the data declares.
   */
  classes: z.strictObject({ classification: int(2).optional(), segmentation: int(1).optional() }).optional(),
});

/** The vision-specific part of a suite. */
export const VisionConfigSchema = z.strictObject({
  model: VisionModelSchema.prefault({}),
  data: VisionDataSchema.prefault({ kind: 'embedded' }),
  base: VisionBaseSchema.prefault({}),
  train: VisionTrainSchema.prefault({}),
  design: VisionDesignSchema.prefault({}),
  eval: VisionEvalSchema.prefault({}),
});

export type VisionConfigInput = z.input<typeof VisionConfigSchema>;
export type VisionConfig = z.output<typeof VisionConfigSchema>;
export type VisionModelConfig = z.output<typeof VisionModelSchema>;
export type VisionDataConfig = z.output<typeof VisionDataSchema>;
export type VisionStageConfig = z.output<typeof VisionTrainSchema> | z.output<typeof VisionBaseSchema>;
export type VisionEvalConfig = z.output<typeof VisionEvalSchema>;
export type VisionDesignConfig = z.output<typeof VisionDesignSchema>;

/** Parses and checks cross-field constraints; errors name the key. */
export function parseVisionConfig(input: VisionConfigInput): VisionConfig {
  const cfg = VisionConfigSchema.parse(input);
  const m = cfg.model;
  if (m.imageSize % m.patchSize !== 0) throw new Error(`model.imageSize ${m.imageSize} is not a multiple of model.patchSize ${m.patchSize}`);
  if (m.width % m.heads !== 0) throw new Error(`model.width ${m.width} is not divisible by model.heads ${m.heads}`);
  if (m.posInit === 'sincos' && m.width % 4 !== 0) throw new Error(`model.posInit 'sincos' needs model.width divisible by 4, got ${m.width}`);
  // A pretrained backbone has no base stage: its crop settings are unused.
  for (const stage of cfg.model.backbone ? (['train'] as const) : (['base', 'train'] as const)) {
    const a = cfg[stage].augment;
    if (a.localSize % m.patchSize !== 0) throw new Error(`${stage}.augment.localSize ${a.localSize} is not a multiple of model.patchSize ${m.patchSize}`);
    if (a.localSize > m.imageSize) throw new Error(`${stage}.augment.localSize ${a.localSize} exceeds model.imageSize ${m.imageSize}`);
  }
  if (cfg.model.backbone && cfg.train.optimizer === 'continued') {
    throw new Error(`train.optimizer 'continued' needs the base stage's optimiser state, and model.backbone ${cfg.model.backbone} is a pretrained checkpoint without one: use 'fresh'`);
  }
  if (cfg.design.subsetBlocks > m.depth) throw new Error(`design.subsetBlocks ${cfg.design.subsetBlocks} exceeds model.depth ${m.depth}`);
  return cfg;
}

export function dinoModelConfig(m: VisionModelConfig): DinoModelConfig {
  return {
    vit: { imageSize: m.imageSize, patchSize: m.patchSize, channels: 3, width: m.width, depth: m.depth, heads: m.heads, mlpRatio: m.mlpRatio, posInit: m.posInit },
    head: { hidden: m.headHidden, bottleneck: m.headBottleneck, out: m.headOut, norm: m.headNorm, pool: m.headPool },
  };
}

export function stageOptim(s: VisionStageConfig): AdamWConfig {
  return { lr: s.lr, beta1: s.beta1, beta2: s.beta2, eps: s.eps, weightDecay: s.weightDecay, gradClip: s.gradClip, warmupSteps: s.warmupSteps, totalSteps: s.steps, minLrRatio: s.minLrRatio };
}

export function stageAugment(s: VisionStageConfig, m: VisionModelConfig): AugmentConfig {
  return { ...s.augment, globalSize: m.imageSize };
}

export function stageDino(s: VisionStageConfig): DinoConfig {
  return { ...s.dino };
}

/** A vision suite: a DINO ViT learner on images, frozen-backbone probes (segmentation, depth, classification). */
export const VisionSuiteSchema = z.strictObject({
  task: z.literal('vision'),
  ...commonSuiteKeys,
  // The vision keys and their defaults live in one place (VisionConfigSchema above).
  ...VisionConfigSchema.shape,
  arms: z.array(z.strictObject(armEntryBase)).min(1),
});

export type VisionSuiteInput = z.input<typeof VisionSuiteSchema>;
export type VisionSuite = z.output<typeof VisionSuiteSchema>;
