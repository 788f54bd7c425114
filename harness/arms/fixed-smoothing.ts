/** The two designer-free controls: fixed α = α_max over the same top-K candidate set. */
import * as tf from '@tensorflow/tfjs';
import { forward } from '../lm/gpt.js';
import type { ArmDefinition } from './types.js';
import { mixWeights, scatterCandidates, topKCandidates } from './topk.js';

/** q = (1−α_max)·onehot + α_max·uniform(C_t). */
export const uniformTopkArm: ArmDefinition = {
  name: 'uniform-topk',
  version: 1,
  description: 'fixed α = α_max, uniform over the top-K candidate set',
  usesDesigner: false,
  create: (ctx) => ({
    targets: (b) => {
      const { topK, alphaMax } = ctx.design;
      const logits = forward(ctx.model.cfg, ctx.model.params, b.ids);
      const c = topKCandidates(logits, b.targets, topK);
      const r = tf.fill([c.ids.shape[0], topK], 1 / topK) as tf.Tensor2D;
      return scatterCandidates(c.ids, mixWeights(alphaMax, r), ctx.model.cfg.vocabSize);
    },
  }),
};

/** q = (1−α_max)·onehot + α_max·(detached learner distribution renormalised over C_t). */
export const selfDistillArm: ArmDefinition = {
  name: 'self-distill',
  version: 1,
  description: 'fixed α = α_max, the detached learner distribution renormalised over the top-K set',
  usesDesigner: false,
  create: (ctx) => ({
    targets: (b) => {
      const { topK, alphaMax } = ctx.design;
      const logits = forward(ctx.model.cfg, ctx.model.params, b.ids);
      const c = topKCandidates(logits, b.targets, topK);
      return scatterCandidates(c.ids, mixWeights(alphaMax, tf.softmax(c.logits)), ctx.model.cfg.vocabSize);
    },
  }),
};
