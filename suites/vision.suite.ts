/**
 * The vision ablation (METHOD.md §4–5): continued DINO pretraining of a small ViT on the embedded scenes with
 * four arms over 3 seeds — `baseline` (standard crops), `v-pretraining` (a U-Net mask designer trained on the
 * value V with segmentation + depth feedback), `random-feedback` (the same designer, g_down a same-norm
 * Gaussian) and `random-masks` (smooth random masks with the same-seed v-pretraining cell's keep ratio, entropy
 * and total variation) — plus `baseline@time`, the baseline given the wall-clock v-pretraining needs for its
 * updates (the paper's v2 comparison). Frozen-backbone probes: segmentation mIoU, depth RMSE / AbsRel / δ1,
 * linear top-1, beside the base checkpoint and the random-init backbone.
 */
import { defineSuite } from '../harness/suite/define.js';
import quick from './vision-quick.suite.js';

export default defineSuite({
  ...quick,
  name: 'vision',
  description: 'vision ablation: baseline, v-pretraining, random-feedback, random-masks (+ baseline@time), 3 seeds, frozen-backbone probes',
  seeds: [1, 2, 3],
  train: { ...quick.train, steps: 200 },
  arms: [
    { arm: 'baseline' },
    { arm: 'baseline', id: 'baseline@time', budget: { kind: 'matched', arm: 'v-pretraining' } },
    { arm: 'v-pretraining' },
    { arm: 'random-feedback' },
    { arm: 'random-masks' },
  ],
});
