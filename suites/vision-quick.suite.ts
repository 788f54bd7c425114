/**
 * The quick vision suite: continued DINO pretraining (the baseline arm) of a small ViT on the embedded scenes,
 * 2 seeds, probed frozen for segmentation, depth and classification, beside the base checkpoint and the
 * random-init backbone. Sized for minutes on 2 cores with 2 workers.
 */
import { defineSuite } from '../harness/suite/define.js';

export default defineSuite({
  task: 'vision',
  name: 'vision-quick',
  description: 'quick vision suite: continued DINO on embedded scenes, 2 seeds, frozen-backbone probes',
  seeds: [1, 2],
  model: { imageSize: 32, patchSize: 4, width: 64, depth: 4, heads: 4, mlpRatio: 4, headHidden: 256, headBottleneck: 64, headOut: 1024 },
  data: { kind: 'embedded', unlabeled: 2048, feedback: 256, probeTrain: 512, validation: 256, test: 512 },
  base: { steps: 300, batchSize: 16 },
  train: { steps: 200, batchSize: 16 },
  arms: [{ arm: 'baseline' }],
});
