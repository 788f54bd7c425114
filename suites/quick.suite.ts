/**
 * The README's main job: a quick version of the lm-ablation suite on the embedded data, with every arm and
 * 2 seeds, sized to finish in minutes on 2 cores. The full version is lm-ablation.suite.ts.
 */
import { defineSuite } from '../harness/suite/define.js';

export default defineSuite({
  name: 'quick',
  description: 'quick six-arm ablation on the embedded GSM8K-style data (2 seeds, noisy stream)',
  seeds: [1, 2],
  data: { kind: 'embedded', corruptFraction: 0.2 },
  model: { nLayer: 2, nHead: 4, nEmbd: 128, blockSize: 128 },
  base: { steps: 300, lr: 3e-3 },
  train: { steps: 60, lr: 1e-3, warmupSteps: 5 },
  design: { topK: 16, alphaMax: 0.5, metaEvery: 8, burnIn: 4, subsetBlocks: 2, feedbackBatch: 32, probeBatches: 6 },
  eval: { gsm8k: { numFewshot: 0, maxNewTokens: 64, limit: 100 } },
  arms: [
    { arm: 'baseline' },
    { arm: 'v-pretraining' },
    { arm: 'random-feedback' },
    { arm: 'uniform-topk' },
    { arm: 'self-distill' },
    { arm: 'baseline', decontaminate: true },
    { arm: 'v-pretraining', decontaminate: true },
  ],
});
