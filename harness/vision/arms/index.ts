/** The vision arms: every arm a vision suite may name, each a rule for the learner's global views. */
import { Registry } from '../../suite/registry.js';
import { visionBaselineArm } from './baseline.js';
import { randomFeedbackArm, randomMasksArm, vPretrainingArm } from './masking.js';
import type { VisionArmDefinition } from './types.js';

export type { VisionArmContext, VisionArmDefinition } from './types.js';

export const visionArmRegistry = new Registry<VisionArmDefinition>('vision arm');
visionArmRegistry.register(visionBaselineArm);
visionArmRegistry.register(vPretrainingArm);
visionArmRegistry.register(randomFeedbackArm);
visionArmRegistry.register(randomMasksArm);
