/**
 * The quick vision suite: continued DINO pretraining of a small ViT on the embedded scenes with the four arms
 * of the vision ablation (baseline, v-pretraining, random-feedback, random-masks), 2 seeds, probed frozen for
 * segmentation, depth and classification, beside the base checkpoint and the random-init backbone. Sized for
 * minutes on 2 cores with 2 workers; `suites/vision.suite.ts` is the full version.
 */
import { defineSuite } from '../harness/suite/define.js';

export default defineSuite({
  task: 'vision',
  name: 'vision-quick',
  description: 'quick vision suite: continued DINO on embedded scenes, four arms, 2 seeds, frozen-backbone probes',
  seeds: [1, 2],
  model: { imageSize: 32, patchSize: 4, width: 64, depth: 4, heads: 4, mlpRatio: 4, headHidden: 256, headBottleneck: 64, headOut: 1024 },
  data: { kind: 'embedded', unlabeled: 2048, feedback: 256, probeTrain: 512, validation: 256, test: 512 },
  base: { steps: 300, batchSize: 16 },
  train: { steps: 60, batchSize: 16 },
  // One designer update every 4 learner steps after 8 burn-in steps (13 updates); S = the last 2 of 4 blocks.
  design: { subsetBlocks: 2, burnIn: 8, metaEvery: 4, metaBatch: 8, feedbackBatch: 8, probeBatches: 6 },
  arms: [{ arm: 'baseline' }, { arm: 'v-pretraining' }, { arm: 'random-feedback' }, { arm: 'random-masks' }],
});
