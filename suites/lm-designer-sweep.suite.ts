/**
 * The sweep that chose the designer's defaults (issue 9, deliverable 3): V-pretraining on the lm-ablation
 * settings (noisy stream, 100 learner steps) with different cadences (meta step every r learner steps),
 * designer steps per meta step (all on that meta step's D) and designer learning rates, against the baseline
 * and the oracle gate, on seeds of its own (101–103, not the ablation's). Selection is on the downstream
 * validation loss (`curves.downstream`, the last 64 GSM8K-train problems, never feedback), never on test Pass@1.
 *
 *   npx vpt run lm-designer-sweep --workers 2
 *
 * Results and the choice: docs/designer-sweep.md.
 */
import { defineSuite } from '../harness/suite/define.js';
import ablation from './lm-ablation.suite.js';

/** One V-pretraining row: meta step every `r`, `k` designer steps per meta step, learning rate `lr`. */
const row = (r: number, k: number, lr: number) => ({
  arm: 'v-pretraining',
  id: `vp-r${r}-k${k}-lr${lr.toExponential().replace('+', '')}`,
  design: { metaEvery: r, designerSteps: k, designerLr: lr },
});

export default defineSuite({
  ...ablation,
  name: 'lm-designer-sweep',
  description: 'designer cadence × steps per meta step × learning rate, selected on the downstream validation loss',
  seeds: [101, 102, 103],
  // The estimator the sweep was run with (docs/designer-sweep.md): central differences at ε = 1e-3.
  design: { ...ablation.design, fdScheme: undefined, fdEpsilon: 1e-3 },
  arms: [
    { arm: 'baseline' },
    { arm: 'oracle-gate' },
    row(8, 1, 3e-3),
    row(4, 4, 3e-3),
    row(4, 4, 1e-2),
    row(4, 4, 3e-2),
    row(2, 2, 1e-2),
    row(8, 8, 1e-2),
  ],
});
