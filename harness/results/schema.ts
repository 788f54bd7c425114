/** The cell result record (cell.json). Bump RESULT_SCHEMA_VERSION on any incompatible change. */
import type { EngineInfo } from '../engine/backend.js';
import type { CellPlan } from '../suite/cell.js';

export const RESULT_SCHEMA_VERSION = 1;

/** One metric of a cell: its value, the per-sample standard error of that value, and the samples behind it. */
export interface MetricValue {
  value: number;
  stderr: number;
  n: number;
}

/** The learner's loss at a log point of training. */
export interface CurvePoint {
  step: number;
  loss: number;
  lr: number;
  gradNorm: number;
}

export type CellStatus = 'completed' | 'errored' | 'timedout' | 'skipped';

/** Whether larger or smaller values of a metric are better, by metric name (before the comma). */
export const HIGHER_IS_BETTER: Record<string, boolean> = {
  'pass@1': true,
  answer_nll: false,
  value_mean: true,
  probe_r: true,
};

/** An engine other than the in-process tfjs one, from its hello line (docs/TRAINER-PROTOCOL.md). */
export interface TrainerEngineInfo {
  trainer: 'torch';
  /** 'torch', so tables that name a cell's backend name its engine. */
  backend: 'torch';
  /** The device in words (e.g. "cpu, 1 thread", "cuda:0 NVIDIA H200"). */
  device: string;
  /** The engine package's version, and torch's. */
  version: string;
  torchVersion: string;
  dtype: string;
  threads: number;
  /** Which code paths ran (directional term, attention, model implementation). */
  paths: Record<string, string>;
}

export interface CellResult {
  schemaVersion: number;
  harnessVersion: string;
  gitSha: string;
  /** Fingerprint of harness/ and the dependency lockfile (see `codeHash`): one run, one code version. */
  codeHash: string;
  configHash: string;
  dataHashes: Record<string, string>;
  evalVersions: Record<string, number>;
  armVersion: number;
  suite: string;
  /** The suite's task ('language', 'vision'). */
  task: string;
  arm: string;
  armId: string;
  seed: number;
  id: string;
  status: CellStatus;
  error?: string;
  /** Keyed "<metric>,<filter>". */
  metrics: Record<string, MetricValue>;
  higherIsBetter: Record<string, boolean>;
  /** Arm diagnostics (mean value, gate statistics, probe r, ...). */
  diagnostics: Record<string, number>;
  /** The tfjs backend the cell ran on, or the engine that trained it (the trainer protocol's engines). */
  engine?: EngineInfo | TrainerEngineInfo;
  steps: { planned: number; done: number };
  timings: { trainMs: number; evalMs: number; msPerStep: number; tokensPerSecond: number; totalMs: number };
  /** The row's budget as planned: kind, learner steps, planned training time and the calibration it used. */
  budget?: CellPlan;
  /** The cell record this cell read (schedule-matched reads V-pretraining's), with its hash at the time. */
  reads?: { id: string; file: string; sha256: string };
  /** Peak tfjs tensor bytes (tfjs) or device bytes (torch on CUDA), and process RSS over training, when recorded. */
  memory?: { tfPeakBytes?: number; devicePeakBytes?: number; rssPeakBytes: number };
  /** Removed stream documents and the decontamination settings, when the arm used the decontaminated stream. */
  decontamination?: Record<string, unknown>;
  /** The resolved suite, the cell's arm row and seed, and the base checkpoint it continued from. */
  config: { suite: unknown; cell: unknown; baseHash?: string };
  /** Training curves: the learner's loss at log points, and (language) the downstream validation NLL after
   * `step` updates (step 0 = before training). Designer arms may add `designer`. */
  curves: { train: CurvePoint[]; downstream?: { step: number; nll: number }[]; [name: string]: unknown[] | undefined };
  startedAt: string;
  finishedAt: string;
}

/**
 * A context row of the tables (the base checkpoint, a random-init backbone): measured once per suite, never
 * ranked, never a reference for differences. Tasks produce them; results folders keep them in reference.json.
 */
export interface ReferenceRow {
  id: string;
  label: string;
  /** Why the row is there (e.g. "before continued pretraining"). */
  note: string;
  metrics: Record<string, MetricValue>;
}
