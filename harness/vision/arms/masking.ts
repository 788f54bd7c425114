/**
 * The masking arms of the vision suite: `v-pretraining` (a mask designer trained on V with dense feedback),
 * `random-feedback` (the same, g_down replaced by a same-norm Gaussian, fresh each meta step) and
 * `random-masks` (smooth random masks with the keep ratio, entropy and total variation of the same-seed
 * v-pretraining cell's masks; no designer, no feedback).
 */
import { stageAugment, stageDino } from '../schema.js';
import { MaskDesignerRule, type MaskRuleContext } from '../designer/rule.js';
import { RandomMaskRule, randomMaskParams, type MaskTargets } from '../designer/random-rule.js';
import type { VisionArmContext, VisionArmDefinition } from './types.js';

function ruleContext(ctx: VisionArmContext): MaskRuleContext {
  const { model, config, data, rng } = ctx;
  return {
    model, data, rng, design: config.design, augment: stageAugment(config.train, config.model), dino: stageDino(config.train),
    ...(ctx.probePool ? { probePool: ctx.probePool } : {}),
  };
}

function designerArm(name: string, feedback: 'true' | 'random', description: string): VisionArmDefinition {
  return { name, version: 1, description, usesDesigner: true, create: (ctx) => new MaskDesignerRule(ruleContext(ctx), feedback) };
}

export const vPretrainingArm = designerArm('v-pretraining', 'true', 'U-Net mask designer on the global views, trained on V with g_down from segmentation and depth feedback');
export const randomFeedbackArm = designerArm('random-feedback', 'random', 'as v-pretraining, but g_down is a same-norm Gaussian vector, fresh each meta step');

/** The read cell's mask statistics, when it recorded them. */
function targetsOf(read: Record<string, number> | undefined): MaskTargets | undefined {
  const keep = read?.keep_ratio;
  const entropy = read?.mask_entropy;
  const tv = read?.mask_tv;
  return keep !== undefined && entropy !== undefined && tv !== undefined && [keep, entropy, tv].every(Number.isFinite) ? { keep, entropy, tv } : undefined;
}

export const randomMasksArm: VisionArmDefinition = {
  name: 'random-masks',
  version: 1,
  description: "smooth random masks with the same-seed v-pretraining cell's keep ratio, entropy and total variation; no feedback",
  usesDesigner: false,
  reads: 'v-pretraining',
  create(ctx) {
    const S = ctx.model.cfg.vit.imageSize;
    const targets = targetsOf(ctx.read);
    const params = randomMaskParams(ctx.config.design, S, ctx.rng.fork('match'), targets);
    return new RandomMaskRule(ctx.config.design, S, params, ctx.rng.fork('masks'), ctx.rng.fork('preview'), targets !== undefined);
  },
};
