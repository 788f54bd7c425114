/** The vision baseline: continued DINO pretraining on the standard crops. */
import { standardViews } from '../views.js';
import type { VisionArmDefinition } from './types.js';

/** Continued DINO pretraining on the standard augmented crops. */
export const visionBaselineArm: VisionArmDefinition = {
  name: 'baseline',
  version: 1,
  description: 'continued DINO pretraining on the standard augmented global and local crops',
  usesDesigner: false,
  create: () => standardViews,
};
