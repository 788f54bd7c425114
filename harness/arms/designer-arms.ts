/**
 * The designer arms: `v-pretraining` (g_down from the feedback set) and `random-feedback` (g_down replaced by
 * a Gaussian vector of the same norm, fresh each meta step). Cadence (METHOD.md §2): after `burnIn` learner
 * steps, every `metaEvery` steps the designer takes one step on −V first; the targets for that batch are then
 * rebuilt with the new φ and detached, and the learner steps on the same batch. Both run inside the learner
 * step, on detached views of its one forward pass: candidates from its logits, S rerun from its hidden state.
 */
import * as tf from '@tensorflow/tfjs';
import { formatQA } from '../data/numina.js';
import { padDocs, selectRows, type TokenRows } from '../data/pack.js';
import { LmDesigner } from '../designer/lm-designer.js';
import {
  cosineLoss, directionalLogp, dot, downstreamGrad, pearson, pretrainGrad, valueOfWeights, type Grads, type Subset,
} from '../designer/value.js';
import { globalNorm, rowLogSumExp } from '../engine/ops.js';
import { read, readScalars } from '../engine/read.js';
import type { Rng } from '../engine/rng.js';
import { disposeBatch, toTensors, type BatchTensors } from '../lm/batches.js';
import { forward, subsetNames, type Params } from '../lm/gpt.js';
import { maskedNll } from '../lm/loss.js';
import { viewOf, type ForwardView, type TargetRule } from '../lm/trainer.js';
import { scatterCandidates, topKCandidates, type Candidates } from './topk.js';
import type { ArmContext, ArmDefinition } from './types.js';

type Feedback = 'true' | 'random';

/** Fewest probe batches whose correlation is reported. */
export const MIN_PROBE_BATCHES = 5;

/** A Gaussian direction with the same global norm as `g`. */
function randomLike(g: Grads, rng: Rng): Grads {
  const out: Grads = {};
  for (const [k, t] of Object.entries(g)) out[k] = tf.tensor(rng.normals(t.size, 1), t.shape);
  return tf.tidy(() => {
    const scale = tf.div(globalNorm(Object.values(g)), globalNorm(Object.values(out)));
    const scaled: Grads = {};
    for (const [k, t] of Object.entries(out)) scaled[k] = tf.mul(t, scale);
    tf.dispose(Object.values(out));
    return scaled;
  });
}

/**
 * Drops the columns after the last one any row's loss reads: feedback rows are padded to the longest problem
 * of the whole set, and with causal attention the trailing padding changes nothing before it.
 */
function trimPadding(r: TokenRows): TokenRows {
  let last = -1;
  for (let i = 0; i < r.rows; i++) {
    for (let t = r.seqLen - 1; t > last; t--) {
      if (r.mask[i * r.seqLen + t] !== 0) {
        last = t;
        break;
      }
    }
  }
  const len = last + 1;
  if (len <= 0 || len === r.seqLen) return r;
  const cut = <A extends Int32Array | Float32Array | Uint8Array>(src: A, out: A): A => {
    for (let i = 0; i < r.rows; i++) out.set(src.subarray(i * r.seqLen, i * r.seqLen + len), i * len);
    return out;
  };
  return {
    rows: r.rows, seqLen: len,
    inputs: cut(r.inputs, new Int32Array(r.rows * len)), targets: cut(r.targets, new Int32Array(r.rows * len)),
    mask: cut(r.mask, new Float32Array(r.rows * len)), wrong: cut(r.wrong, new Uint8Array(r.rows * len)),
  };
}

export class DesignerRule implements TargetRule {
  readonly designer: LmDesigner;
  readonly hiddenAt: number;
  private readonly opt: tf.Optimizer;
  private readonly subset: Subset;
  private readonly feedbackRows: TokenRows;
  private readonly fbRng: Rng;
  private readonly noiseRng: Rng;
  /** Σ α·m, Σ m, Σ α·m·wrong, Σ m·wrong, Σ α·m·(1−wrong), Σ m·(1−wrong) over all learner steps. */
  private readonly gateSums = tf.variable(tf.zeros([6]), false);
  readonly values: number[] = [];
  /** Values of meta steps not yet read (device scalars, read by `sync` outside the step). */
  private pendingValues: tf.Scalar[] = [];
  readonly metaMs: number[] = [];
  private probeR = NaN;
  /** Candidates of the current step's view, shared by its meta step and its targets. */
  private current: { view: ForwardView; c: Candidates; logp: tf.Tensor2D } | undefined;

  constructor(private readonly ctx: ArmContext, private readonly feedback: Feedback) {
    const { model, design } = ctx;
    this.designer = new LmDesigner(
      { vocabSize: model.cfg.vocabSize, blockSize: model.cfg.blockSize, width: design.designerWidth, layers: design.designerLayers, heads: design.designerHeads, alphaMax: design.alphaMax },
      ctx.rng.fork('designer-init'),
    );
    this.opt = tf.train.adam(design.designerLr);
    this.subset = { from: model.cfg.nLayer - design.subsetBlocks, names: subsetNames(model.cfg, design.subsetBlocks) };
    this.hiddenAt = this.subset.from;
    this.feedbackRows = ctx.feedbackRows ?? padDocs(model.tokenizer, ctx.feedback.map((f) => formatQA(f.question, f.answer)));
    if (this.feedbackRows.seqLen > model.cfg.blockSize) throw new Error(`a feedback problem has ${this.feedbackRows.seqLen} tokens, more than blockSize ${model.cfg.blockSize}`);
    this.fbRng = ctx.rng.fork('feedback-batches');
    this.noiseRng = ctx.rng.fork('random-feedback');
  }

  /** C_t and the learner's candidate log-probabilities, from the step's detached logits (computed once per view). */
  private candidates(view: ForwardView, targets: tf.Tensor1D): { c: Candidates; logp: tf.Tensor2D } {
    if (this.current?.view !== view) {
      const c = topKCandidates(view.logits, targets, this.ctx.design.topK);
      this.current = { view, c, logp: tf.sub(c.logits, rowLogSumExp(view.logits)) as tf.Tensor2D };
    }
    return this.current;
  }

  /** Designer-built targets and gates for a batch, from a view of the learner's forward on it. */
  private buildTargets(b: BatchTensors, view: ForwardView): { q: tf.Tensor2D; alpha: tf.Tensor1D } {
    const { c, logp } = this.candidates(view, b.targets);
    const out = this.designer.apply(this.designer.vars, b.ids, b.targets, c, logp);
    return { q: scatterCandidates(c.ids, out.weights, this.ctx.model.cfg.vocabSize), alpha: out.alpha };
  }

  targets(b: BatchTensors, _step: number, view: ForwardView): tf.Tensor2D {
    const { q, alpha } = this.buildTargets(b, view);
    this.current = undefined;
    const am = tf.mul(alpha, b.mask);
    const mw = tf.mul(b.mask, b.wrong);
    const mo = tf.sub(b.mask, mw);
    const sums = tf.stack([tf.sum(am), tf.sum(b.mask), tf.sum(tf.mul(alpha, mw)), tf.sum(mw), tf.sum(tf.mul(alpha, mo)), tf.sum(mo)]);
    this.gateSums.assign(tf.add(this.gateSums, sums));
    return q;
  }

  private feedbackBatch(rng: Rng): BatchTensors {
    const n = Math.min(this.ctx.design.feedbackBatch, this.feedbackRows.rows);
    return toTensors(trimPadding(selectRows(this.feedbackRows, rng.sample(this.feedbackRows.rows, n))));
  }

  /** g_down for this meta step: from feedback, or a same-norm Gaussian for the random-feedback control. */
  private gDown(): Grads {
    const fb = this.feedbackBatch(this.fbRng);
    const { loss, grads } = downstreamGrad(this.ctx.model, this.subset, fb);
    loss.dispose();
    disposeBatch(fb);
    if (this.feedback === 'true') return grads;
    const noise = randomLike(grads, this.noiseRng);
    tf.dispose(Object.values(grads));
    return noise;
  }

  metaStep(b: BatchTensors, step: number, view: ForwardView): boolean {
    const { burnIn, metaEvery, fdEpsilon, value } = this.ctx.design;
    if (step < burnIn || (step - burnIn) % metaEvery !== 0) return false;
    const t0 = performance.now();
    const { model } = this.ctx;
    if (!view.hidden) throw new Error('the designer needs the hidden state entering S in the learner view');
    const hidden = view.hidden;
    const gDown = this.gDown();
    // Candidates outlive this tidy: the targets of the same step reuse them.
    const { c, logp } = this.candidates(view, b.targets);
    const v = tf.tidy(() => {
      // The learner's own forward supplies the candidates and the activations below S: only S is rerun.
      // Forward differences take log p_θ at the candidates from the learner's forward: one S-forward.
      const center = this.ctx.design.fdScheme === 'forward' ? logp : undefined;
      const D = directionalLogp(model, this.subset, hidden, b.ids, c.ids, gDown, fdEpsilon, b.mask, center);
      const weightsOf = (): tf.Tensor2D => this.designer.apply(this.designer.vars, b.ids, b.targets, c, logp).weights;
      // The designer minimises −V; `reported` is V (or the cosine) at φ before this update.
      let objective: () => tf.Scalar;
      let reported: (objectiveValue: tf.Scalar) => tf.Scalar;
      if (value === 'dot') {
        objective = () => tf.neg(valueOfWeights(weightsOf(), D, b.mask));
        reported = (o) => tf.neg(o);
      } else {
        const w0 = weightsOf();
        const gPre = pretrainGrad(model, this.subset, b, hidden, scatterCandidates(c.ids, w0, model.cfg.vocabSize));
        const Dp = directionalLogp(model, this.subset, hidden, b.ids, c.ids, gPre, fdEpsilon, b.mask, center);
        const cos = cosineLoss(w0, D, Dp, b.mask, globalNorm(Object.values(gDown)), globalNorm(Object.values(gPre)));
        objective = () => cos.loss(weightsOf());
        reported = () => cos.cosine;
      }
      const { value: o, grads } = tf.variableGrads(objective, Object.values(this.designer.vars));
      this.opt.applyGradients(grads);
      return reported(o);
    });
    // Read later, outside the step (`sync`): a read here would stall the step, and WebGPU has no synchronous one.
    this.pendingValues.push(tf.keep(v));
    tf.dispose(Object.values(gDown));
    this.metaMs.push(performance.now() - t0);
    return true;
  }

  /**
   * One-step probe: on held-out batches, predicted decrease η·V against the realised decrease of the
   * downstream loss after one plain step θ_S ← θ_S − η·g_pre (exact gradients, no finite differences).
   */
  async probe(rows: TokenRows, batches: number, eta: number, rng: Rng): Promise<{ predicted: number[]; realised: number[]; r: number }> {
    const { model } = this.ctx;
    const bs = Math.max(1, Math.floor(rows.rows / batches));
    const predicted: number[] = [];
    const realised: number[] = [];
    for (let j = 0; j < batches && (j + 1) * bs <= rows.rows; j++) {
      const b = toTensors(selectRows(rows, Array.from({ length: bs }, (_, i) => j * bs + i)));
      const fb = this.feedbackBatch(rng);
      const { loss, grads: gDown } = downstreamGrad(model, this.subset, fb);
      const [pred, real] = tf.tidy(() => {
        const view = viewOf(model, b.ids, this.hiddenAt);
        const hidden = view.hidden as tf.Tensor2D;
        const { q } = this.buildTargets(b, view);
        this.current = undefined;
        const gPre = pretrainGrad(model, this.subset, b, hidden, q);
        const stepped: Params = { ...model.params };
        for (const n of this.subset.names) stepped[n] = tf.sub(model.params[n] as tf.Tensor, tf.mul(gPre[n] as tf.Tensor, eta));
        const after = maskedNll(forward(model.cfg, stepped, fb.ids), fb.targets, fb.mask);
        return [tf.mul(dot(gDown, gPre), eta), tf.sub(loss, after)];
      });
      const [p, r] = await readScalars([pred, real]).finally(() => tf.dispose([pred, real, loss, ...Object.values(gDown)]));
      predicted.push(p as number);
      realised.push(r as number);
      disposeBatch(b);
      disposeBatch(fb);
    }
    this.probeR = pearson(predicted, realised);
    return { predicted, realised, r: this.probeR };
  }

  async sync(): Promise<void> {
    const pending = this.pendingValues;
    this.pendingValues = [];
    try {
      this.values.push(...(await readScalars(pending)));
    } finally {
      tf.dispose(pending);
    }
  }

  async summary(): Promise<Record<string, number>> {
    await this.sync();
    const { probeRows, design } = this.ctx;
    // Pearson r over fewer than MIN_PROBE_BATCHES points is ±1 or near it by construction: report n/a instead.
    if (probeRows && design.probeBatches >= MIN_PROBE_BATCHES && Number.isNaN(this.probeR)) {
      await this.probe(probeRows, design.probeBatches, design.probeLr, this.ctx.rng.fork('probe'));
    }
    const g = await read(this.gateSums);
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, c) => a + c, 0) / xs.length : NaN);
    return {
      value_mean: mean(this.values),
      gate_mean: (g[0] as number) / Math.max(1, g[1] as number),
      gate_wrong: (g[3] as number) > 0 ? (g[2] as number) / (g[3] as number) : NaN,
      gate_other: (g[4] as number) / Math.max(1, g[5] as number),
      meta_steps: this.values.length,
      meta_ms_mean: mean(this.metaMs),
      probe_r: this.probeR,
    };
  }

  dispose(): void {
    tf.dispose(this.pendingValues);
    this.pendingValues = [];
    this.designer.dispose();
    this.opt.dispose();
    this.gateSums.dispose();
  }
}

function designerArm(name: string, feedback: Feedback, description: string): ArmDefinition {
  return { name, version: 1, description, usesDesigner: true, create: (ctx: ArmContext) => new DesignerRule(ctx, feedback) };
}

export const vPretrainingArm = designerArm('v-pretraining', 'true', 'designer-built soft top-K targets, designer trained on V with g_down from feedback');
export const randomFeedbackArm = designerArm('random-feedback', 'random', 'as v-pretraining, but g_down is a same-norm Gaussian vector, fresh each meta step');

