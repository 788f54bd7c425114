/** The two designer-free controls: fixed α = α_max over the same top-K candidate set, differing only in r. */
import * as tf from '@tensorflow/tfjs';
import type { ArmDefinition } from './types.js';
import { mixWeights, scatterCandidates, topKCandidates, type Candidates } from './topk.js';

function fixedSmoothingArm(name: string, description: string, distribution: (c: Candidates) => tf.Tensor2D): ArmDefinition {
  return {
    name,
    version: 1,
    description,
    usesDesigner: false,
    create: (ctx) => ({
      // Candidates come from the learner step's own (detached) logits: no extra forward.
      targets: (b, _step, view) => {
        const { topK, alphaMax } = ctx.design;
        const c = topKCandidates(view.logits, b.targets, topK);
        return scatterCandidates(c.ids, mixWeights(alphaMax, distribution(c)), ctx.model.cfg.vocabSize);
      },
    }),
  };
}

/** q = (1−α_max)·onehot + α_max·uniform(C_t). */
export const uniformTopkArm = fixedSmoothingArm('uniform-topk', 'fixed α = α_max, uniform over the top-K candidate set', (c) =>
  tf.fill(c.ids.shape, 1 / c.ids.shape[1]) as tf.Tensor2D,
);

/** q = (1−α_max)·onehot + α_max·(detached learner distribution renormalised over C_t). */
export const selfDistillArm = fixedSmoothingArm(
  'self-distill',
  'fixed α = α_max, the detached learner distribution renormalised over the top-K set',
  (c) => tf.softmax(c.logits) as tf.Tensor2D,
);
