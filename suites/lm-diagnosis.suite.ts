/**
 * Signal or capacity? (issue 24, deliverable 2.) V-pretraining on the lm-ablation settings (noisy stream, 100
 * learner steps, 2-block learner) with the designer the published lm-full table used (a meta step every 4 learner
 * steps, 4 designer steps each at lr 3e-2: 100 updates), beside the baseline and the oracle gate, and one change at
 * a time:
 *
 * - same-batch: 16 designer steps on each meta step's own D, the targets of that batch built right after them.
 *   `gate_wrong_meta` / `gate_other_meta` (α on those batches) show whether the designer separates wrong tokens
 *   where V has just been maximised; no separation even there points at the implementation or the signal.
 * - fresh: a fresh feedback batch (g_down and D anew) for each of the 4 designer steps.
 * - fb4x: a feedback batch 4× as large (64 problems).
 * - labels: the gate also reads the generator's wrong-token labels, with a weight trained by V alone (a diagnostic,
 *   not a method): can V's signal train the gate at all?
 * - others: r over C_t without w_t, so the mass the gate moves cannot return to the (wrong) true token.
 * - features: the gate also reads the learner's log p(w_t) and entropy (a departure from the paper).
 *
 * The unsure learner is the same suite on a stream with less noise:
 *
 *   npx vpt run lm-diagnosis --workers 2
 *   npx vpt run lm-diagnosis --workers 2 --set data.corruptFraction=0.1 --set name=lm-diagnosis-unsure
 *
 * Seeds 201–203: neither the ablation's nor the sweep's. Results: docs/designer-diagnosis.md.
 */
import { defineSuite } from '../harness/suite/define.js';
import ablation from './lm-ablation.suite.js';

/** The lm-full designer (r 4, k 4, lr 3e-2) with `over` changed. */
const vp = (id: string, over: Record<string, unknown> = {}) => ({ arm: 'v-pretraining', id, design: { metaEvery: 4, burnIn: 0, designerSteps: 4, designerLr: 3e-2, ...over } });

export default defineSuite({
  ...ablation,
  name: 'lm-diagnosis',
  description: 'signal-versus-capacity diagnosis of the language designer: same-batch, fresh feedback, 4× feedback, labels as a gate feature, r without w_t, gate features',
  seeds: [201, 202, 203],
  arms: [
    { arm: 'baseline' },
    { arm: 'oracle-gate' },
    vp('vp'),
    vp('vp-same-batch', { designerSteps: 16 }),
    vp('vp-fresh', { freshFeedback: true }),
    vp('vp-fb4x', { feedbackBatch: 64 }),
    vp('vp-labels', { labelFeature: true }),
    vp('vp-others', { rSupport: 'others' }),
    vp('vp-features', { gateFeatures: true }),
  ],
});
