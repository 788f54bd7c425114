/** What an arm is: a named, versioned rule for turning an unlabeled batch into a prediction problem. */
import type { Rng } from '../engine/rng.js';
import type { Gsm8kItem } from '../data/gsm8k.js';
import type { TokenRows } from '../data/pack.js';
import type { LanguageModel } from '../lm/model.js';
import type { TargetRule } from '../lm/trainer.js';
import type { DesignConfig } from '../suite/schema.js';

export interface ArmContext {
  model: LanguageModel;
  design: DesignConfig;
  /** The cell's RNG (already forked for the arm). */
  rng: Rng;
  /** Labelled feedback problems (GSM8K train, disjoint from test); used only through g_down. */
  feedback: readonly Gsm8kItem[];
  /** The feedback problems already tokenized (one right-padded row each); when given, used instead of `feedback`. */
  feedbackRows?: TokenRows;
  /** Learner updates planned for the cell. */
  steps: number;
  /** Held-out unlabeled rows for the one-step probe (never trained on). */
  probeRows?: TokenRows;
}

export interface ArmDefinition {
  name: string;
  /** Bumped when the arm's rule changes; results of different versions are incomparable. */
  version: number;
  description: string;
  /** Whether the arm trains a task designer (and so reports value and gate statistics). */
  usesDesigner: boolean;
  create(ctx: ArmContext): TargetRule;
}
