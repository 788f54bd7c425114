/** Tiny vision settings for tests: seconds per stage. */
import { parseVisionConfig, type VisionConfig, type VisionConfigInput } from '../harness/vision/schema.js';

export const TINY_VISION: VisionConfigInput = {
  model: { imageSize: 16, patchSize: 4, width: 16, depth: 2, heads: 2, mlpRatio: 2, headHidden: 32, headBottleneck: 16, headOut: 64 },
  data: { kind: 'embedded', unlabeled: 24, feedback: 4, probeTrain: 24, validation: 12, test: 12 },
  base: { steps: 3, batchSize: 4, warmupSteps: 1, logEvery: 1, augment: { localSize: 8, nLocal: 2 } },
  train: { steps: 3, batchSize: 4, warmupSteps: 1, logEvery: 1, augment: { localSize: 8, nLocal: 2 } },
  design: { subsetBlocks: 1 },
  eval: { lrGrid: [0.1], ridgeGrid: [0.01, 0.1], segmentationSteps: 4, classificationSteps: 10, batchImages: 8, bootstrap: 10 },
};

export function tinyVision(over: Partial<VisionConfigInput> = {}): VisionConfig {
  return parseVisionConfig({ ...TINY_VISION, ...over });
}
