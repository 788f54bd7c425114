/**
 * lm-full at a larger scale (issue 24, item 6): a wider and deeper learner (4 blocks × 256, 8 heads: 3.67M parameters,
 * 5.6× lm-ablation's 2 × 128), a 3× longer continued budget (300 learner steps), and the paper-shaped
 * designer lm-full chose (6 × 256, 4 heads, one designer step per meta step at lr 1e-4; 75 updates per cell here).
 * The core rows only (the baseline, V-pretraining, its sharpest control and the oracle's upper bound), over lm-full's
 * 5 seeds. Sized for the torch engine on CPU: about an hour on 2 idle cores (per learner step baseline 0.65 s,
 * V-pretraining 1.31 s, side by side in one run at base lr 5e-3; docs/designer-sweep.md):
 *
 *   npx vpt run lm-scale --trainer torch --workers 2
 *
 * S stays the last block + final norm + head (subsetBlocks 1), now a quarter of the trunk instead of a half.
 */
import { defineSuite } from '../harness/suite/define.js';
import full from './lm-full.suite.js';

export default defineSuite({
  ...full,
  name: 'lm-scale',
  description: 'lm-full core rows at a larger scale: learner 4 × 256, 300 continued steps, paper-shaped designer, 5 seeds (torch engine)',
  model: { ...full.model, nLayer: 4, nHead: 8, nEmbd: 256 },
  // The base stage's lr chosen on the downstream validation NLL of the base checkpoint (never test): 5e-3, lm-full's,
  // leaves the wider learner at 1.038 (its training loss ends at 1.16); 2e-3 gives 0.321, 1e-3 0.390.
  base: { ...full.base, lr: 2e-3 },
  train: { ...full.train, steps: 300, warmupSteps: 15 },
  arms: [
    { arm: 'baseline' },
    { arm: 'v-pretraining' },
    { arm: 'shuffled-feedback' },
    { arm: 'oracle-gate' },
  ],
});
