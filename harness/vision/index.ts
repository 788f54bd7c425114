/** The vision task package: a DINO ViT learner on images, a mask designer, frozen-backbone probes. */
import { VisionSuiteSchema } from './schema.js';
import { visionTask } from './task.js';

export type { VisionSuite, VisionSuiteInput } from './schema.js';

/** What the task registry takes: the task's definition and its suite schema. */
export const vision = { task: visionTask, schema: VisionSuiteSchema };
