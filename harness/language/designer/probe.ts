/**
 * The one-step probe (METHOD.md §5): on held-out stream batches, the decrease of the downstream loss that
 * the value predicts for a plain step θ_S ← θ_S − η·g_pre (η·V, V = g_downᵀ g_pre) against the decrease
 * actually realised after that step. At η → 0 the two agree by construction (first order); at the size
 * the learner really moves they need not, which is what makes the probe a test of the value.
 * With a reference rule (one-hot targets) the probe also measures the part of V the designer controls: for the
 * difference Δ = g_pre − g_ref of the designer's and the reference's gradients, the predicted η·g_downᵀΔ against the
 * realised L_down(θ_S − η·g_ref) − L_down(θ_S − η·g_pre). V's one-hot part dominates the whole, so r on the whole
 * says little about the α-dependent part; this says it directly.
 */
import * as tf from '@tensorflow/tfjs';
import { globalNorm, pickColumns, rowLogSumExp } from '../../engine/ops.js';
import { read } from '../../engine/read.js';
import type { BatchTensors } from '../train/batches.js';
import { forwardFrom, forwardFromAtRows, hiddenBelow, type Params } from '../model/gpt.js';
import { maskedNll } from '../model/loss.js';
import type { LanguageModel } from '../model/model.js';
import { viewOf, type ForwardView } from '../train/trainer.js';
import { pearson, slopeOf } from '../../engine/moments.js';
import { dot } from '../../engine/grads.js';
import { maskedRows, pretrainGrad, subsetGrad, type Subset } from './value.js';

/** How far the probe steps: a fixed η, or η chosen per batch so that ‖η·g_pre‖ = `norm`. */
export type ProbeStep = { eta: number } | { norm: number };

/** One step size's probe over the batches. */
export interface ProbeSeries {
  /** η·V per batch. */
  predicted: number[];
  /** L_down(θ) − L_down(θ_S − η·g_pre) per batch. */
  realised: number[];
  /** η per batch. */
  eta: number[];
  /** Pearson r of realised on predicted (NaN without spread). */
  r: number;
  /** Least-squares slope of realised on predicted (1 where the first-order prediction is exact). */
  slope: number;
  /** The α-dependent part (with a reference rule): the same four for the difference from the reference's step. */
  alpha?: { predicted: number[]; realised: number[]; r: number; slope: number };
}

/**
 * Runs the probe at the model's current parameters for each step size in `steps`. `targetsOf` builds the
 * learner's targets for a batch from a view of its forward (the arm's rule at its current state). The
 * downstream loss is the teacher-forced answer NLL of `fb`, computed the same way before and after the step
 * (activations below S reused: only S moves), and g_down is its exact gradient over S. Awaits one read per batch.
 */
export async function probeOneStep(
  model: LanguageModel,
  s: Subset,
  batches: readonly BatchTensors[],
  fb: BatchTensors,
  targetsOf: (b: BatchTensors, view: ForwardView) => tf.Tensor2D,
  steps: readonly ProbeStep[],
  reference?: (b: BatchTensors) => tf.Tensor2D,
): Promise<ProbeSeries[]> {
  const { cfg } = model;
  const [B, T] = fb.ids.shape;
  const hidden = tf.tidy(() => hiddenBelow(cfg, model.params, fb.ids, s.from));
  const rows = maskedRows(fb.mask);
  const targets = rows ? (tf.gather(fb.targets, rows) as tf.Tensor1D) : fb.targets;
  const mask = rows ? (tf.ones([rows.size]) as tf.Tensor1D) : fb.mask;
  const logitsAt = (p: Params): tf.Tensor2D => (rows ? forwardFromAtRows(cfg, p, hidden, B, T, s.from, rows) : forwardFrom(cfg, p, hidden, B, T, s.from));
  const lossAt = (p: Params): tf.Scalar => maskedNll(logitsAt(p), targets, mask);
  // The α part's realised change is a small difference of two losses: taken position by position before the mean,
  // its float32 rounding is about ulp(loss)/√N instead of ulp(loss) (the quantum the difference of means would have).
  const tokenNll = (logits: tf.Tensor2D): tf.Tensor1D =>
    tf.mul(tf.sub(rowLogSumExp(logits), pickColumns(logits, targets.toInt().expandDims(1) as tf.Tensor2D)).reshape([-1]), mask) as tf.Tensor1D;
  const { value: before, grads: gDown } = tf.tidy(() => subsetGrad(model, s, lossAt));
  const out: ProbeSeries[] = steps.map(() => ({
    predicted: [], realised: [], eta: [], r: NaN, slope: NaN, ...(reference ? { alpha: { predicted: [], realised: [], r: NaN, slope: NaN } } : {}),
  }));
  const width = reference ? 5 : 3;
  try {
    for (const b of batches) {
      const series = tf.tidy(() => {
        const view = viewOf(model, b.ids, s.from);
        const gPre = pretrainGrad(model, s, b, view.hidden as tf.Tensor2D, targetsOf(b, view));
        const gRef = reference ? pretrainGrad(model, s, b, view.hidden as tf.Tensor2D, reference(b)) : undefined;
        const v = dot(gDown, gPre);
        const norm = globalNorm(Object.values(gPre));
        const stepAlong = (g: Record<string, tf.Tensor>, eta: tf.Scalar): Params => {
          const stepped: Params = { ...model.params };
          for (const n of s.names) stepped[n] = tf.sub(model.params[n] as tf.Tensor, tf.mul(g[n] as tf.Tensor, eta));
          return stepped;
        };
        const per = steps.map((st) => {
          const eta: tf.Scalar = 'eta' in st ? tf.scalar(st.eta) : tf.div(st.norm, norm);
          // One forward of S at θ − η·g_pre serves the whole's loss and the α part's per-position NLL.
          const stepped = logitsAt(stepAlong(gPre, eta));
          const after = maskedNll(stepped, targets, mask);
          const whole = [tf.mul(eta, v), tf.sub(before, after), eta];
          if (!gRef) return tf.stack(whole);
          // The α part: predicted η·g_downᵀ(g_pre − g_ref); realised L(θ − η·g_ref) − L(θ − η·g_pre).
          const vRef = dot(gDown, gRef);
          const realised = tf.div(tf.sum(tf.sub(tokenNll(logitsAt(stepAlong(gRef, eta))), tokenNll(stepped))), tf.sum(mask));
          return tf.stack([...whole, tf.mul(eta, tf.sub(v, vRef)), realised]);
        });
        return tf.stack(per);
      });
      // Read outside the tidy (awaited: WebGPU has no synchronous read).
      const x = await read(series).finally(() => series.dispose());
      steps.forEach((_, k) => {
        const o = out[k] as ProbeSeries;
        o.predicted.push(x[width * k] as number);
        o.realised.push(x[width * k + 1] as number);
        o.eta.push(x[width * k + 2] as number);
        o.alpha?.predicted.push(x[width * k + 3] as number);
        o.alpha?.realised.push(x[width * k + 4] as number);
      });
    }
  } finally {
    tf.dispose([hidden, before, ...Object.values(gDown), ...(rows ? [rows, targets, mask] : [])]);
  }
  for (const o of out) {
    o.r = pearson(o.predicted, o.realised);
    o.slope = slopeOf(o.predicted, o.realised);
    if (o.alpha) {
      o.alpha.r = pearson(o.alpha.predicted, o.alpha.realised);
      o.alpha.slope = slopeOf(o.alpha.predicted, o.alpha.realised);
    }
  }
  return out;
}
