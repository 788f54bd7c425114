/**
 * The keys every suite has, whatever its task: name, seeds, backend, budgets, arm rows and the regression gate's
 * settings. Each task package declares its own keys beside these (harness/language/schema.ts,
 * harness/vision/schema.ts); the task registry (harness/tasks/index.ts) joins them into the suite schema. Every
 * object is strict (an unknown key is an error naming it), every field has a documented default, and the parsed
 * result is what gets hashed and recorded.
 */
import { z } from 'zod';
import { SuiteError } from '../errors.js';

export const int = (min: number) => z.number().int().min(min);
export const frac = z.number().min(0).max(1);

/**
 * How long the cells of an arm row train (METHOD §5: the paper's v1 matches learner updates, v2 wall-clock).
 * Wall-clock budgets become step counts through a recorded per-step calibration, so a rerun with the same
 * calibration takes the same steps; each arm's learning-rate schedule spans its own step count.
 */
export const BudgetSchema = z.discriminatedUnion('kind', [
  /** `train.steps` learner updates (the default). */
  z.strictObject({ kind: z.literal('updates') }),
  /** A fixed wall-clock time per cell, in seconds of training (evaluation and probes excluded). */
  z.strictObject({ kind: z.literal('seconds'), seconds: z.number().positive() }),
  /** The time arm `arm` needs for `updates` learner updates (default `train.steps`): the paper's v2 form. */
  z.strictObject({ kind: z.literal('matched'), arm: z.string().default('v-pretraining'), updates: int(1).optional() }),
]);

/** An arm row of a suite: which registered arm, and the row id its cells and table row carry. */
export const armEntryBase = {
  /** Registered arm name (`vpt ls` lists each task's arms). */
  arm: z.string(),
  /** Row id in tables and cell ids; defaults to the arm name (+ "+decontam" for language). */
  id: z.string().regex(/^[A-Za-z0-9_.+@-]+$/, 'ids may hold letters, digits and _ . + @ -').optional(),
  /**
   * For arms that read another cell's record (e.g. `schedule-matched` reads V-pretraining's gate trajectory): the
   * row id of this suite whose same-seed cell it reads (that cell then runs first), or `{ results, arm }` for the
   * row `arm` of a recorded results folder. Default: the arm's own default row (`vpt ls` says which).
   */
  from: z.union([z.string(), z.strictObject({ results: z.string(), arm: z.string() })]).optional(),
  /** This row's training budget; default: the suite's `budget`. */
  budget: BudgetSchema.optional(),
};

/** An arm row with the keys every task's rows have. */
export const ArmRowSchema = z.strictObject(armEntryBase);

export const ToleranceSchema = z.strictObject({
  /** Absolute tolerance in the metric's own units (pass@1 is a fraction: 0.01 = one point). Default 0. */
  abs: z.number().min(0).default(0),
  /** Tolerance relative to the magnitude of the baseline mean (0.01 = 1%). Default 0. */
  rel: z.number().min(0).default(0),
});

/**
 * The optional `compare` key of a suite: the regression gate's settings (harness/regress/config.ts has the
 * defaults and what they mean).
 */
export const CompareConfigSchema = z.strictObject({
  /** Tolerances by metric key, metric name or `*`; entries here replace the defaults for that key. Default {}. */
  tolerances: z.record(z.string(), ToleranceSchema).default({}),
  /** A timing or memory peak can regress only when it moves by more than this factor (asv's default). Default 1.1. */
  timingFactor: z.number().min(1).default(1.1),
  /** Familywise level of the Holm-corrected tests (the intervals are 1 − alpha). Default 0.05. */
  alpha: z.number().gt(0).lt(1).default(0.05),
});

/** Settings of the PyTorch engine (harness/torch), used when a suite's `trainer` is 'torch'. */
export const TorchSchema = z.strictObject({
  /** Interpreter that can import torch. Default: $VPT_PYTHON, else the first of python3 and /usr/bin/python3 that can. */
  python: z.string().optional(),
  /** 'auto' (CUDA when the engine sees a GPU, else CPU), 'cpu' or 'cuda'. Default 'auto'. */
  device: z.enum(['auto', 'cpu', 'cuda']).default('auto'),
  /** 'auto' (bfloat16 autocast on CUDA, float32 on CPU), 'float32' or 'bfloat16'. Default 'auto'. */
  dtype: z.enum(['auto', 'float32', 'bfloat16']).default('auto'),
  /** CPU threads of each engine process (one cell per core, as the tfjs workers run). Default 1. */
  threads: int(1).default(1),
  /**
   * The value's directional term D: 'exact' (forward-mode differentiation where the torch version has it, else the
   * suite's finite differences) or 'differences' (the suite's finite differences, as the tfjs engine computes D).
   * Default 'exact'.
   */
  directional: z.enum(['exact', 'differences']).default('exact'),
  /** Data-parallel processes per cell (torchrun; one GPU each on CUDA, gloo on CPU). Default 1. */
  nproc: int(1).default(1),
  /**
   * Shard AdamW's moments over the `nproc` processes (ZeRO stage 1, torch's ZeroRedundancyOptimizer): each device
   * keeps 1/nproc of them, for full-parameter learners whose optimiser state does not fit one card. Default false.
   */
  shardOptimizer: z.boolean().default(false),
}).refine((t) => !t.shardOptimizer || t.nproc > 1, { message: 'shardOptimizer shards over several processes: set nproc > 1', path: ['shardOptimizer'] });

/** Keys every suite has, whatever its task. */
export const commonSuiteKeys = {
  name: z.string().regex(/^[a-z0-9][a-z0-9_-]*$/, 'suite names are lower-case letters, digits, - and _'),
  description: z.string().default(''),
  /** Training seeds; each (arm, seed) is one cell. */
  seeds: z.array(int(0)).min(1),
  /**
   * Backend preference; 'auto' picks the best available (webgpu only on a GPU adapter). 'webgpu' also takes a
   * software adapter such as lavapipe. Default 'auto'.
   */
  backend: z.enum(['auto', 'webgpu', 'tensorflow-gpu', 'tensorflow', 'wasm', 'cpu']).default('auto'),
  /**
   * The engine that trains the cells: 'tfjs' (in the worker process, on `backend`) or 'torch' (the PyTorch engine,
   * started by the worker through the trainer protocol, docs/TRAINER-PROTOCOL.md). Absent: 'tfjs'.
   */
  trainer: z.enum(['tfjs', 'torch']).optional(),
  /** The torch engine's settings (`trainer: 'torch'`); absent: their defaults. */
  torch: TorchSchema.optional(),
  /**
   * What to get for each input the suite names by path, keyed by the key that names it (e.g. `'model.path':
   * 'Qwen2.5-0.5B from huggingface.co/Qwen/Qwen2.5-0.5B'`): a missing path is reported with it, one line each.
   * Not part of the config hash.
   */
  requires: z.record(z.string(), z.string()).optional(),
  /** Training budget of every arm row without its own. Default `{ kind: 'updates' }` (train.steps). */
  budget: BudgetSchema.prefault({ kind: 'updates' }),
  /**
   * Regression-gate settings for `vpt compare` (per-metric tolerances, timing factor, level); absent: the
   * documented defaults of harness/regress/config.ts. Not part of the config hash: it judges results, it does
   * not produce them.
   */
  compare: CompareConfigSchema.optional(),
};

/**
 * What the core knows of any suite: the common keys, the arm rows' common keys, and the training keys every task has
 * (learner updates and batch size). A task's own suite type extends it.
 */
export interface SuiteBase {
  task: string;
  name: string;
  description: string;
  seeds: number[];
  backend: z.output<typeof commonSuiteKeys.backend>;
  trainer?: 'tfjs' | 'torch' | undefined;
  torch?: TorchConfig | undefined;
  requires?: Record<string, string> | undefined;
  budget: Budget;
  compare?: z.output<typeof CompareConfigSchema> | undefined;
  arms: ArmRow[];
  train: { steps: number; batchSize: number };
  model: unknown;
}

export type Budget = z.output<typeof BudgetSchema>;
export type TorchConfig = z.output<typeof TorchSchema>;
export type ArmRow = z.output<typeof ArmRowSchema>;
export type Tolerance = z.output<typeof ToleranceSchema>;
export type CompareConfig = z.output<typeof CompareConfigSchema>;

/** A failed parse as one error: the source, then one line per problem with its key path. */
export function suiteIssues(source: string, issues: readonly z.core.$ZodIssue[]): SuiteError {
  const lines = issues.map((i) => `  ${i.path.length ? i.path.join('.') : '(top level)'}: ${i.message}`);
  return new SuiteError(`${source} is invalid:\n${lines.join('\n')}`);
}
