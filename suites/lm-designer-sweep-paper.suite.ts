/**
 * The designer sweep of issue 24 (deliverable 4): the paper's designer shape beside ours, the r variant, the
 * designer's learning rate over [1e-4, 3e-2], the cadence (the paper's one designer step per meta step, or four) and
 * the feedback batch, at the lm-ablation settings (noisy stream, 100 learner steps), beside the baseline and the
 * oracle gate, on the sweep's own seeds (101–103). Selection is on the downstream validation NLL at the end of
 * training (`curves.downstream`, 64 GSM8K-train problems never used as feedback), never on test.
 *
 *   npx vpt run lm-designer-sweep-paper --workers 2 --trainer torch
 *
 * On the torch engine: the paper-shaped designer (6 × 256) costs about ten learner steps of this 2 × 128 learner
 * per designer forward. Results and the choice: docs/designer-sweep.md (second part).
 */
import { defineSuite } from '../harness/suite/define.js';
import { PAPER_DESIGNER } from '../harness/language/schema.js';
import ablation from './lm-ablation.suite.js';

/** A V-pretraining row: meta step every 4 learner steps, `k` designer steps per meta step at `lr`, and `over`. */
const row = (id: string, k: number, lr: number, over: Record<string, unknown> = {}) => ({
  arm: 'v-pretraining', id, design: { metaEvery: 4, burnIn: 0, designerSteps: k, designerLr: lr, ...over },
});

export default defineSuite({
  ...ablation,
  name: 'lm-designer-sweep-paper',
  description: 'designer shape (ours 1 × 32, the paper 6 × 256) × r variant × lr × cadence × feedback batch, selected on the downstream validation loss',
  seeds: [101, 102, 103],
  arms: [
    { arm: 'baseline' },
    { arm: 'oracle-gate' },
    row('small-k4-lr3e-2', 4, 3e-2),
    row('small-k1-lr3e-2', 1, 3e-2),
    row('small-k1-lr1e-3', 1, 1e-3),
    row('small-others-k4-lr3e-2', 4, 3e-2, { rSupport: 'others' }),
    row('small-k4-lr3e-2-fb64', 4, 3e-2, { feedbackBatch: 64 }),
    row('paper-k1-lr1e-4', 1, 1e-4, PAPER_DESIGNER),
    row('paper-k1-lr3e-3', 1, 3e-3, PAPER_DESIGNER),
    row('paper-others-k1-lr3e-3', 1, 3e-3, { ...PAPER_DESIGNER, rSupport: 'others' }),
  ],
});
