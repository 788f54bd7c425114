/** What a vision arm is: a rule for the learner's global views, and what it is built from. */
import type { Rng } from '../../engine/rng.js';
import type { VisionData } from '../data/load.js';
import type { ImagePool } from '../augment.js';
import type { DinoModel } from '../model.js';
import type { VisionConfig } from '../schema.js';
import type { ViewRule } from '../views.js';

/** What a vision arm's rule is built from. */
export interface VisionArmContext {
  model: DinoModel;
  config: VisionConfig;
  data: VisionData;
  /** The cell's RNG, forked for the arm. */
  rng: Rng;
  /** Learner updates planned for the cell. */
  steps: number;
  /** Held-out unlabeled images for the one-step probe (never trained on). */
  probePool?: ImagePool;
  /** Diagnostics of the same-seed cell this arm reads (see `reads`), when it reads one. */
  read?: Record<string, number>;
}

export interface VisionArmDefinition {
  name: string;
  /** Bumped when the arm's rule changes; results of different versions are incomparable. */
  version: number;
  description: string;
  /** Whether the arm trains a task designer. */
  usesDesigner: boolean;
  /** Row id whose same-seed cell this arm reads (the runner runs that cell first). */
  reads?: string;
  create(ctx: VisionArmContext): ViewRule;
}

