/**
 * The README's main job: a quick version of lm-ablation.suite.ts (same arms, data and model) with 2 seeds,
 * fewer steps and a 100-problem test slice, sized to finish in minutes on 2 cores.
 */
import { defineSuite } from '../harness/suite/define.js';
import ablation from './lm-ablation.suite.js';

export default defineSuite({
  ...ablation,
  name: 'quick',
  description: 'quick five-arm ablation + decontaminated rows on the embedded GSM8K-style data (2 seeds, noisy stream)',
  seeds: [1, 2],
  train: { ...ablation.train, steps: 60 },
  // One probe point (after the last update): the probe costs ~20 s per point and designer cell here.
  design: { ...ablation.design, probeBatches: 6, probePoints: 1 },
  eval: { gsm8k: { ...ablation.eval.gsm8k, limit: 100 } },
  // The paper's arms only (the ablation's extra controls stay out, so npm start stays minutes long).
  arms: ablation.arms.filter((a) => !['oracle-gate', 'schedule-matched', 'shuffled-feedback'].includes(a.arm)),
});
