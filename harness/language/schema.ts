/**
 * The language task's suite keys: data (embedded generator or files), the GPT, base and continued training, GSM8K
 * evaluation, the designer and decontamination; the keys every suite has come from harness/suite/schema.ts.
 */
import { z } from 'zod';
import { SuiteError } from '../errors.js';
import { armEntryBase, commonSuiteKeys, frac, int } from '../suite/schema.js';

/** Where the data comes from: the embedded generator (default) or files in the published formats. */
export const DataSchema = z.discriminatedUnion('kind', [
  z.strictObject({
    kind: z.literal('embedded'),
    /** Generator seed; the same for all training seeds so every seed sees the same data. Default 1234. */
    seed: int(0).default(1234),
    trainSize: int(1).default(2048),
    testSize: int(1).default(200),
    baseSize: int(1).default(6000),
    streamSize: int(1).default(4000),
    relevantFraction: frac.default(0.7),
    /** Fraction of wrong worked solutions in the continued-pretraining stream. Default 0. */
    corruptFraction: frac.default(0),
    /** Fraction of the stream that is edited copies of test problems, labelled by kind of edit. Default 0.02. */
    leakFraction: frac.default(0.02),
    /** 'rule' (default): wrong solutions apply their family's systematic wrong rule; 'slip': one result off by a
     * small amount in any family (isolated errors). See harness/language/data/synth/embedded.ts. */
    noise: z.enum(['rule', 'slip']).default('rule'),
    /** Families whose stream solutions carry rule noise. Default ['shopping', 'boxes', 'reading']. */
    noisyFamilies: z.array(z.string()).min(1).default(['shopping', 'boxes', 'reading']),
  }),
  z.strictObject({
    kind: z.literal('files'),
    /** GSM8K train JSONL (feedback pool, few-shot pool). */
    gsm8kTrain: z.string(),
    /** GSM8K test JSONL. */
    gsm8kTest: z.string(),
    /** NuminaMath-CoT continued-pretraining stream (.jsonl or .parquet). */
    cptStream: z.string(),
    /** Base-pretraining stream (.jsonl or .parquet); defaults to the continued-pretraining stream. */
    baseStream: z.string().optional(),
    /** MATH test JSONL (`problem` field) used by decontamination. */
    mathTest: z.string().optional(),
    /** Use at most this many stream documents (0 = all). Default 0. */
    streamLimit: int(0).default(0),
  }),
]);

/** The vpt GPT, trained from scratch in the base stage with a tokenizer built from the base stream. */
export const GptModelSchema = z.strictObject({
  nLayer: int(1).default(2),
  nHead: int(1).default(4),
  nEmbd: int(8).default(128),
  /** Context length; packed rows have this many positions. Default 128. */
  blockSize: int(8).default(128),
  /** Tokenizer: most corpus pieces in the vocabulary. Default 512. */
  maxPieces: int(0).default(512),
  /** Tokenizer: whole numbers 0..maxNumber are single tokens. Default 200. */
  maxNumber: int(0).default(200),
});

/** LoRA adapters on a pretrained decoder's projections (the paper's LoRA branch: r 8, α 16, dropout 0.05, all seven). */
export const LoraSchema = z.strictObject({
  r: int(1).default(8),
  alpha: z.number().positive().default(16),
  /** Dropout on the adapters' input while training (the torch engine; tfjs applies none). Default 0.05. */
  dropout: frac.default(0.05),
  /** Projections that get adapters. Default all seven of a Qwen/LLaMA block. */
  targets: z.array(z.string()).min(1).default(['q_proj', 'k_proj', 'v_proj', 'o_proj', 'gate_proj', 'up_proj', 'down_proj']),
});

/**
 * A pretrained decoder from a local folder in the Hugging Face layout (config.json + model.safetensors, or shards
 * with model.safetensors.index.json; bf16, fp16 or fp32): Qwen2/Qwen2.5, Qwen3 or LLaMA. Its tokenizer is the
 * folder's tokenizer.json (or `tokenizer`). It is the base checkpoint: there is no base stage.
 */
export const HfModelSchema = z.strictObject({
  kind: z.literal('hf'),
  /** The model folder. */
  path: z.string(),
  /** tokenizer.json or its folder; default: the model folder. */
  tokenizer: z.string().optional(),
  /** Sequence length of packed training rows (at most the model's max_position_embeddings). Default 512. */
  blockSize: int(8).default(512),
  /** 'full' (every parameter) or { lora: {...} } (adapters only; S = the last design.subsetBlocks layers' adapters). */
  trainable: z.union([z.literal('full'), z.strictObject({ lora: LoraSchema })]).default('full'),
  /** The torch engine's storage of frozen weights: 'auto' (bfloat16 on CUDA, float32 on CPU), 'float32', 'bfloat16'. */
  weightsDtype: z.enum(['auto', 'float32', 'bfloat16']).default('auto'),
});

type ModelInput = z.input<typeof GptModelSchema> | z.input<typeof HfModelSchema>;

/** `model`: `{ kind: 'hf', path, ... }` names a pretrained decoder; anything else is the vpt GPT's shape. */
export const ModelSchema = z.custom<ModelInput>().transform((raw, ctx): z.output<typeof GptModelSchema> | z.output<typeof HfModelSchema> => {
  const hf = raw !== null && typeof raw === 'object' && (raw as { kind?: unknown }).kind === 'hf';
  const r = (hf ? HfModelSchema : GptModelSchema).safeParse(raw);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  return r.data;
});

export const OptimSchema = z.strictObject({
  steps: int(0),
  batchSize: int(1).default(16),
  lr: z.number().positive().default(1e-3),
  warmupSteps: int(0).default(10),
  minLrRatio: frac.default(0.1),
  weightDecay: z.number().min(0).default(0.1),
  gradClip: z.number().min(0).default(1),
  beta1: frac.default(0.9),
  beta2: frac.default(0.95),
  eps: z.number().positive().default(1e-8),
  /** Read losses every this many steps. Default 10. */
  logEvery: int(1).default(10),
  /**
   * Microbatches of `batchSize` rows accumulated per learner update (the paper: 32 full-parameter, 8 LoRA), on the
   * torch engine; absent: 1. A designer's meta step reads an update's first microbatch.
   */
  accum: int(1).optional(),
});

export const BaseSchema = OptimSchema.extend({
  /** Seed of the base model (shared by every arm and training seed). Default 0. */
  seed: int(0).default(0),
  steps: int(0).default(300),
  lr: z.number().positive().default(3e-3),
});

export const EvalSchema = z.strictObject({
  gsm8k: z
    .strictObject({
      numFewshot: int(0).default(0),
      fewshotSeed: int(0).default(1234),
      maxNewTokens: int(1).default(96),
      limit: int(0).default(0),
    })
    .prefault({}),
  /**
   * The downstream loss tracked during training: the teacher-forced answer NLL on a fixed validation slice (the
   * last `size` problems of the GSM8K train split, never used as feedback), recorded before training and at
   * every log point (`train.logEvery`). It gives token efficiency (baseline steps to reach an arm's loss) and is
   * what designer settings are selected on, never test Pass@1. Its cost is excluded from the training time.
   */
  downstream: z
    .strictObject({
      /** Validation problems (0 disables tracking). Default 64. */
      size: int(0).default(64),
    })
    .prefault({}),
});

/** Language task-design settings (top-K soft targets and the designer). */
export const DesignSchema = z.strictObject({
  /** Candidate set size K (true token + top-(K−1) of the detached learner). Paper 64. Default 16. */
  topK: int(2).default(16),
  /** Largest mixing weight α_max. Default 0.5. */
  alphaMax: frac.default(0.5),
  /** Meta step every r learner steps. Default 8. */
  metaEvery: int(1).default(8),
  /** Learner steps before the first designer update. Default 8. */
  burnIn: int(0).default(8),
  /** Parameter subset S = last n blocks + final norm + head. Default 2. */
  subsetBlocks: int(1).default(2),
  /** Feedback problems drawn from the train split (disjoint from test). Default 1024. */
  feedbackSize: int(1).default(1024),
  /** Feedback batch per meta step. Default 32. */
  feedbackBatch: int(1).default(32),
  /** 'dot' (default) or 'cosine' value. */
  value: z.enum(['dot', 'cosine']).default('dot'),
  /** Finite-difference step ε along the unit ĝ_down (parameter units). Default 1e-3 (central: 1e-2 was
   * measured 2% off the exact V on a tiny model; 1e-3 within 0.1%). The best ε depends on the model: truncation
   * error grows with ε, float32 rounding as 1/ε (on lm-ablation's learner rounding dominates below ~1e-2). */
  fdEpsilon: z.number().positive().default(1e-3),
  /** Differences for D: 'central' (two S-forwards, truncation O(ε²); what absence means) or 'forward' from the
   * learner's own forward (one S-forward, truncation O(ε)). Optional. */
  fdScheme: z.enum(['central', 'forward']).optional(),
  /** Designer width, layers, heads. */
  designerWidth: int(8).default(32),
  designerLayers: int(1).default(1),
  designerHeads: int(1).default(2),
  designerLr: z.number().positive().default(3e-3),
  /** Designer Adam steps per meta step, all on that meta step's batch and directional term D: V(φ) is exact for
   * any φ on the batch, so each extra step costs one designer forward and backward, no learner work (with
   * `value: 'cosine'` each extra step also recomputes g_pre and its directional term). Default 1. */
  designerSteps: int(1).default(1),
  /** Held-out probe batches for the one-step probe (0 disables; with fewer than 5 the correlation is reported as
   * n/a, since r over 2–4 points is near ±1 by construction). Default 8. */
  probeBatches: int(0).default(8),
  /** Plain step size η of the first-order probe (η → 0: the prediction η·V should be exact there). Default 1e-3. */
  probeLr: z.number().positive().default(1e-3),
  /** Points of training at which the probe runs, evenly spaced, the last after the final update (0: none).
   * At each point the probe also steps as far as the learner really moved: ‖η·g_pre‖ = the norm of the
   * learner's last AdamW update on S. Default 4. */
  probePoints: int(0).default(4),
  // Options for testing the designer fairly (issue 24); absent, each is today's behaviour.
  /**
   * What r, the designer's distribution, spans: 'candidates' (C_t, the true token included: the paper's; what absence
   * means) or 'others' (C_t without w_t, so the mass the gate moves cannot go back to the true token).
   */
  rSupport: z.enum(['candidates', 'others']).optional(),
  /** Initial weight of the true token's score bonus in r (absence: 0). Negative starts r away from w_t. */
  trueScoreInit: z.number().optional(),
  /**
   * The gate also reads the learner's detached log-probability of w_t and its entropy at the position (a departure
   * from the paper, whose gate reads the context only). Absence: false.
   */
  gateFeatures: z.boolean().optional(),
  /**
   * Diagnostic, not a method: the gate also reads the generator's label of w_t as wrong (embedded data with
   * corruptFraction > 0), with a weight trained by V like every other. Tells whether V's signal can train the gate
   * at all apart from whether the designer can find the wrong tokens. Absence: false.
   */
  labelFeature: z.boolean().optional(),
  /** The designer's Adam ε (absence: 1e-7, tfjs's default). */
  designerEps: z.number().positive().optional(),
  /**
   * A fresh feedback batch (g_down and D anew) for every designer step of a meta step, instead of designerSteps
   * steps on one. Absence: false.
   */
  freshFeedback: z.boolean().optional(),
});

/**
 * The paper's designer shape (issue 24): a LLaMA-style decoder of 6 layers, hidden size 256, 4 heads, in float32
 * (here the vpt GPT trunk at that shape). Spread it into a row's `design` (`design: { ...PAPER_DESIGNER }`).
 */
export const PAPER_DESIGNER = { designerLayers: 6, designerWidth: 256, designerHeads: 4 } as const;

/**
 * Per-row overrides of the suite's `design` keys (same keys and checks, no defaults: a key left out keeps the
 * suite's value). Lets one suite compare designer settings on shared seeds and base checkpoint (a sweep).
 */
export const DesignOverrideSchema = z.record(z.string(), z.unknown()).transform((raw, ctx) => {
  const r = DesignSchema.partial().safeParse(raw);
  if (!r.success) {
    for (const i of r.error.issues) ctx.addIssue({ code: 'custom', message: i.message, path: i.path });
    return z.NEVER;
  }
  const parsed = r.data as Record<string, unknown>;
  return Object.fromEntries(Object.keys(raw).map((k) => [k, parsed[k]])) as Partial<z.output<typeof DesignSchema>>;
});

/**
 * Near-duplicate screening of the stream against the evaluation sets. The defaults were chosen by measuring
 * precision and recall against labelled leaks (`npx tsx harness/language/data/decontam-sweep.ts`, output in
 * harness/language/data/decontam-sweep.md): on the embedded stream (2% leaks of nine kinds, exact Jaccard over n = 1..5 and
 * thresholds 0.3..0.8) word bigrams at Jaccard 0.6 give the best F1 (precision 0.62, recall 0.65, 0.8% of non-leaks
 * removed; verbatim, prefixed and reordered copies all caught, copies with new names and new numbers mostly not);
 * on real GSM8K text (edited GSM8K test copies among GSM8K train, against GSM8K test + MATH test) the same setting
 * gives precision 0.99, recall 0.80. 32 bands of 4 rows find pairs at Jaccard 0.6 with probability 0.99 and matched
 * the exact screen.
 */
export const DecontamSchema = z.strictObject({
  /** Word n-gram size. Default 2. */
  ngram: int(1).default(2),
  /** MinHash permutations = bands × rows. Default 128. */
  permutations: int(1).default(128),
  /** LSH bands. Default 32 (4 rows each). */
  bands: int(1).default(32),
  /** Jaccard threshold on word n-grams for removal. Default 0.6. */
  threshold: frac.default(0.6),
  /** Also screen against GSM8K train (the feedback pool), not only the evaluation sets (GSM8K test, MATH test).
   * Default false. */
  screenTrain: z.boolean().default(false),
});

export const ArmEntrySchema = z.strictObject({
  ...armEntryBase,
  /** Train on the decontaminated stream. Default false. */
  decontaminate: z.boolean().default(false),
  /** Overrides of the suite's `design` keys for this row only (e.g. a designer sweep). Default none. */
  design: DesignOverrideSchema.optional(),
});

/** A language suite: GSM8K-style feedback and evaluation, a GPT learner, top-K target designers. */
export const LanguageSuiteSchema = z.strictObject({
  /** The task; suites without the key are language suites. */
  task: z.literal('language'),
  ...commonSuiteKeys,
  data: DataSchema.prefault({ kind: 'embedded' }),
  model: ModelSchema.prefault({}),
  base: BaseSchema.prefault({}),
  train: OptimSchema.extend({ steps: int(0).default(60) }).prefault({}),
  eval: EvalSchema.prefault({}),
  design: DesignSchema.prefault({}),
  decontamination: DecontamSchema.prefault({}),
  arms: z.array(ArmEntrySchema).min(1),
});

/** A language suite as declared: the `task` key may be left out (suites written before tasks existed). */
export type LanguageSuiteInput = Omit<z.input<typeof LanguageSuiteSchema>, 'task'> & { task?: 'language' };
export type LanguageSuite = z.output<typeof LanguageSuiteSchema>;
export type ArmEntry = z.output<typeof ArmEntrySchema>;
export type DataConfig = z.output<typeof DataSchema>;
export type DesignConfig = z.output<typeof DesignSchema>;
export type DecontamConfig = z.output<typeof DecontamSchema>;
export type GptModelConfig = z.output<typeof GptModelSchema>;
export type HfModelConfig = z.output<typeof HfModelSchema>;
export type ModelKeys = GptModelConfig | HfModelConfig;

/** Whether a suite's learner is a pretrained decoder (`model.kind: 'hf'`). */
export function isHfModel(m: ModelKeys): m is HfModelConfig {
  return 'kind' in m && m.kind === 'hf';
}

/** The vpt GPT's keys of a suite whose learner is one; `what` names the work that needs them. */
export function gptModelOf(s: { model: ModelKeys }, what: string): GptModelConfig {
  if (isHfModel(s.model)) throw new SuiteError(`${what} needs the vpt GPT; this suite's model is a pretrained decoder (model.kind 'hf', ${s.model.path})`);
  return s.model;
}
