/**
 * The full language suite of issue 9: every lm-ablation row (the paper's five arms, the baseline at
 * V-pretraining's wall-clock, oracle-gate, schedule-matched, shuffled-feedback, and the decontaminated rows) over
 * 5 seeds on the noisy stream, for paired 95% intervals against the baseline.
 *
 *   npx vpt run lm-full --workers 2
 *
 * The clean stream (same problems, correct solutions) has no wrong-token labels, so it runs without the oracle:
 *
 *   npx vpt run lm-full --workers 2 --set data.corruptFraction=0 --set name=lm-full-clean \
 *     --set 'arms=[{"arm":"baseline"},{"arm":"v-pretraining"}]'
 *
 * Designer settings come from the second designer sweep (issue 24; lm-designer-sweep-paper.suite.ts,
 * docs/designer-sweep.md), chosen on the downstream validation loss, never test Pass@1: the paper's designer shape
 * (6 layers × 256, 4 heads), a meta step every 4 learner steps with one designer step at lr 1e-4 (25 updates per
 * cell), lm-ablation's feedback batch (16) and estimator (forward differences at ε = 1e-2), as the sweep ran them.
 * The paper-shaped designer costs about 4× a baseline cell on CPU; run it on the torch engine (`--trainer torch`).
 * The table of issue 9 was measured with the first sweep's choice (1 × 32 designer, 4 steps per meta step at lr
 * 3e-2, feedback batch 32, central differences at 1e-3): `git show 6199c90:suites/lm-full.suite.ts`.
 */
import { defineSuite } from '../harness/suite/define.js';
import { PAPER_DESIGNER } from '../harness/language/schema.js';
import ablation from './lm-ablation.suite.js';

export default defineSuite({
  ...ablation,
  name: 'lm-full',
  description: 'lm-ablation rows over 5 seeds on the noisy stream (issue 9 full suite; clean stream via --set data.corruptFraction=0)',
  seeds: [1, 2, 3, 4, 5],
  design: { ...ablation.design, ...PAPER_DESIGNER, metaEvery: 4, burnIn: 0, designerSteps: 1, designerLr: 1e-4 },
});
