/** The arm registry: every arm a suite may name. */
import { Registry } from '../../suite/registry.js';
import { baselineArm } from './baseline.js';
import { randomFeedbackArm, shuffledFeedbackArm, vPretrainingArm } from './designer-arms.js';
import { selfDistillArm, uniformTopkArm } from './fixed-smoothing.js';
import { oracleGateArm, scheduleMatchedArm } from './gate-controls.js';
import type { ArmDefinition } from './types.js';

export const armRegistry = new Registry<ArmDefinition>('arm');
armRegistry.register(baselineArm);
armRegistry.register(uniformTopkArm);
armRegistry.register(selfDistillArm);
armRegistry.register(vPretrainingArm);
armRegistry.register(randomFeedbackArm);
armRegistry.register(shuffledFeedbackArm);
armRegistry.register(scheduleMatchedArm);
armRegistry.register(oracleGateArm);
