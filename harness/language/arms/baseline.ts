import { oneHotTargets } from '../model/loss.js';
import type { ArmDefinition } from './types.js';

/** Matched-budget baseline: one-hot next-token targets. */
export const baselineArm: ArmDefinition = {
  name: 'baseline',
  version: 1,
  description: 'continued pretraining with one-hot next-token cross-entropy on answer tokens',
  usesDesigner: false,
  create: (ctx) => ({ targets: (b) => oneHotTargets(b.targets, ctx.model.cfg.vocabSize) }),
};
