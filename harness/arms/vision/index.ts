/** The vision arms: every arm a vision suite may name, each a rule for the learner's global views. */
import type { Rng } from '../../engine/rng.js';
import { Registry } from '../../suite/registry.js';
import type { VisionData } from '../../data/vision/load.js';
import type { ImagePool } from '../../vision/augment.js';
import type { DinoModel } from '../../vision/model.js';
import type { VisionConfig } from '../../vision/schema.js';
import { standardViews, type ViewRule } from '../../vision/views.js';
import { randomFeedbackArm, randomMasksArm, vPretrainingArm } from './masking.js';

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

/** Continued DINO pretraining on the standard augmented crops. */
export const visionBaselineArm: VisionArmDefinition = {
  name: 'baseline',
  version: 1,
  description: 'continued DINO pretraining on the standard augmented global and local crops',
  usesDesigner: false,
  create: () => standardViews,
};

export const visionArmRegistry = new Registry<VisionArmDefinition>('vision arm');
visionArmRegistry.register(visionBaselineArm);
visionArmRegistry.register(vPretrainingArm);
visionArmRegistry.register(randomFeedbackArm);
visionArmRegistry.register(randomMasksArm);
