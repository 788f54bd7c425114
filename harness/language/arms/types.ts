/** What an arm is: a named, versioned rule for turning an unlabeled batch into a prediction problem. */
import type { Rng } from '../../engine/rng.js';
import type { Gsm8kItem } from '../data/gsm8k.js';
import type { TokenRows } from '../data/pack.js';
import type { LanguageModel } from '../model/model.js';
import type { TargetRule } from '../train/trainer.js';
import type { DesignConfig } from '../schema.js';
import type { ArmDraws } from '../draws.js';

/** The cell record an arm reads (see `ArmDefinition.reads`): where it is and its parsed JSON. */
export interface ReadRecord {
  /** Path of the cell.json read (for messages). */
  file: string;
  /** Its parsed contents, unvalidated: the arm checks what it needs and names `file` when it is missing. */
  record: unknown;
}

export interface ArmContext {
  model: LanguageModel;
  /** The suite's design settings with the arm row's `design` overrides applied. */
  design: DesignConfig;
  /** The cell's RNG (already forked for the arm). */
  rng: Rng;
  /** Labelled feedback problems (GSM8K train, disjoint from test); used only through g_down. */
  feedback: readonly Gsm8kItem[];
  /** The feedback problems already tokenized (one right-padded row each); when given, used instead of `feedback`. */
  feedbackRows?: TokenRows;
  /** Learner updates planned for the cell. */
  steps: number;
  /** Length of the training rows the designer reads (its position table); default the learner's blockSize. */
  rowLength?: number;
  /** Held-out unlabeled rows for the one-step probe (never trained on). */
  probeRows?: TokenRows;
  /** The same-seed cell record this arm reads, for arms with `reads` (the runner ran that cell first). */
  reads?: ReadRecord;
  /**
   * The designer's draws made by the harness (harness/language/draws.ts); absent (bench, calibration): the arm
   * draws from `rng` itself, the same streams.
   */
  draws?: ArmDraws;
}

export interface ArmDefinition {
  name: string;
  /** Bumped when the arm's rule changes; results of different versions are incomparable. */
  version: number;
  description: string;
  /** Whether the arm trains a task designer (and so reports value and gate statistics). */
  usesDesigner: boolean;
  /** Row id whose same-seed cell record this arm reads by default (an arm row's `from` overrides it). Default none. */
  reads?: string;
  /**
   * Whether the arm reads the generator's labels of wrong tokens (`BatchTensors.wrong`), so it runs only on a
   * stream that carries them (embedded data with `corruptFraction` > 0). Default false.
   */
  needsWrongLabels?: boolean;
  create(ctx: ArmContext): TargetRule;
}
