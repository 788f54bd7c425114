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
 * Designer settings come from the designer sweep (lm-designer-sweep.suite.ts, docs/designer-sweep.md): among the
 * settings that give the designer about 100 updates per cell, the one with the lowest downstream validation loss
 * (never test Pass@1): a meta step every 4 learner steps, 4 designer steps per meta step, designer lr 3e-2, and
 * no burn-in (25 meta steps × 4 = 100 designer updates per cell). The feedback batch stays at 32 problems, the
 * size the published lm-full table was measured with (lm-ablation's is now 16, sized to the learner's batch).
 */
import { defineSuite } from '../harness/suite/define.js';
import ablation from './lm-ablation.suite.js';

export default defineSuite({
  ...ablation,
  name: 'lm-full',
  description: 'lm-ablation rows over 5 seeds on the noisy stream (issue 9 full suite; clean stream via --set data.corruptFraction=0)',
  seeds: [1, 2, 3, 4, 5],
  // The estimator of the published table: central differences at ε = 1e-3 (lm-ablation moved to forward 1e-2).
  design: { ...ablation.design, metaEvery: 4, burnIn: 0, designerSteps: 4, designerLr: 3e-2, feedbackBatch: 32, fdScheme: undefined, fdEpsilon: 1e-3 },
});
