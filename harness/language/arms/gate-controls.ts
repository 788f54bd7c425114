/**
 * Two arms that fix the gate α instead of learning it, over the learner's own top-K candidates:
 * - `oracle-gate`: α = α_max exactly on the tokens the generator marked wrong and 0 elsewhere, the mass going
 *   to the learner's distribution over its top-K without the marked token. An upper bound on what target design
 *   can do on a labelled stream (it reads the labels no method may read), not a method.
 * - `schedule-matched`: no feedback; α at each step is V-pretraining's mean α at that step (read from the
 *   same-seed v-pretraining cell), over the learner's distribution renormalised on its top-K: self-distillation
 *   with V-pretraining's schedule, to tell a learned gate from a mere amount of smoothing.
 */
import * as tf from '@tensorflow/tfjs';
import type { TargetRule } from '../train/trainer.js';
import { GateTrace } from './gate-trace.js';
import { mixWeights, scatterCandidates, topKCandidates } from './topk.js';
import type { ArmContext, ArmDefinition, ReadRecord } from './types.js';

/** A rule whose gate is given per step; records what it applied. */
function gatedRule(trace: GateTrace, build: TargetRule['targets']): TargetRule {
  return {
    targets: build,
    summary: () => trace.diagnostics(),
    curves: async () => {
      await trace.flush();
      return { alpha: trace.steps };
    },
    dispose: () => trace.dispose(),
  };
}

export const oracleGateArm: ArmDefinition = {
  name: 'oracle-gate',
  version: 1,
  description: 'upper bound: α = α_max on the tokens the generator marked wrong, 0 elsewhere, mass to the learner\'s own top-K without the marked token',
  usesDesigner: false,
  needsWrongLabels: true,
  create: (ctx) => {
    const trace = new GateTrace(ctx.steps);
    return gatedRule(trace, (b, step, view) => {
      const { topK, alphaMax } = ctx.design;
      const c = topKCandidates(view.logits, b.targets, topK);
      // The learner's distribution over the other K − 1 candidates: column 0 (the marked token) gets none.
      const K = c.ids.shape[1];
      const others = tf.concat([tf.fill([1, 1], -Infinity), tf.zeros([1, K - 1])], 1);
      const r = tf.softmax(tf.add(c.logits, others)) as tf.Tensor2D;
      const alpha = tf.mul(b.wrong, alphaMax) as tf.Tensor1D;
      trace.record(step, alpha, b);
      return scatterCandidates(c.ids, mixWeights(alpha, r), ctx.model.cfg.vocabSize);
    });
  },
};

/**
 * The mean-α trajectory recorded by a designer cell (`curves.alpha`: one `{step, alpha}` per learner step,
 * steps 0, 1, 2, ...). Any other shape is an error naming the file.
 */
export function readAlphaSchedule(src: ReadRecord): number[] {
  const curves = (src.record as { curves?: { alpha?: unknown } } | null)?.curves;
  const points = curves?.alpha;
  if (!Array.isArray(points) || points.length === 0) {
    throw new Error(`${src.file}: no curves.alpha (the per-step gate of a designer cell); read a v-pretraining cell recorded by this version of vpt`);
  }
  return points.map((p, i) => {
    const { step, alpha } = (p ?? {}) as { step?: unknown; alpha?: unknown };
    if (step !== i || typeof alpha !== 'number' || !Number.isFinite(alpha)) {
      throw new Error(`${src.file}: curves.alpha.${i} should be {step: ${i}, alpha: <finite number>}, got ${JSON.stringify(p)}`);
    }
    return alpha;
  });
}

/**
 * α at learner step `step` of `steps`: the recorded value of the same step when the schedule has as many steps
 * (then exactly the recorded trajectory), else the value at the same fraction of training.
 */
export function scheduledAlpha(schedule: readonly number[], step: number, steps: number): number {
  const i = schedule.length === steps ? step : Math.floor((step * schedule.length) / Math.max(1, steps));
  return schedule[Math.min(schedule.length - 1, Math.max(0, i))] as number;
}

export const scheduleMatchedArm: ArmDefinition = {
  name: 'schedule-matched',
  version: 1,
  description: 'no feedback: α follows V-pretraining\'s mean α trajectory (same seed) over the learner\'s own top-K (self-distillation with its schedule)',
  usesDesigner: false,
  reads: 'v-pretraining',
  create: (ctx: ArmContext) => {
    if (!ctx.reads) throw new Error('schedule-matched reads the gate trajectory of a v-pretraining cell, and none was given (an arm row reads one with from: \'<row id>\')');
    const schedule = readAlphaSchedule(ctx.reads);
    const trace = new GateTrace(ctx.steps);
    return gatedRule(trace, (b, step, view) => {
      const alpha = scheduledAlpha(schedule, step, ctx.steps);
      const c = topKCandidates(view.logits, b.targets, ctx.design.topK);
      trace.record(step, alpha, b);
      return scatterCandidates(c.ids, mixWeights(alpha, tf.softmax(c.logits) as tf.Tensor2D), ctx.model.cfg.vocabSize);
    });
  },
};
