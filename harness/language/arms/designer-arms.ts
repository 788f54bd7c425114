/**
 * The designer arms: `v-pretraining` (g_down from the feedback set), `random-feedback` (g_down replaced by a
 * Gaussian vector of the same norm, fresh each meta step) and `shuffled-feedback` (g_down from the feedback set
 * with answers permuted across problems). Cadence (METHOD.md §2): after `burnIn` learner steps, every
 * `metaEvery` steps a meta step computes g_down and the directional term D once, and the designer takes
 * `designerSteps` Adam steps on −V (V(φ) is exact for any φ on that batch given D); the targets for that batch
 * are then rebuilt with the new φ and detached, and the learner steps on the same batch. Both run inside the
 * learner step, on detached views of its one forward pass: candidates from its logits, S rerun from its hidden
 * state. The one-step probe runs between learner steps at `probePoints` points of training.
 * Nothing is read from the device inside a step (WebGPU has no synchronous read): a meta step's values and
 * its cos(g_down, g_pre) stay on the device until the trainer's `sync` at its next log point.
 */
import * as tf from '@tensorflow/tfjs';
import { formatQA } from '../data/numina.js';
import { padDocs, selectRows, type TokenRows } from '../data/pack.js';
import { designerShapeOf, LmDesigner, type GateInputs } from '../designer/lm-designer.js';
import { probeOneStep, type ProbeSeries } from '../designer/probe.js';
import { cosineLoss, directionalLogits, directionalLogp, downstreamGrad, pretrainGrad, valueOfWeights, type Subset } from '../designer/value.js';
import { dot, randomLike, type Grads } from '../../engine/grads.js';
import { globalNorm, rowLogSumExp } from '../../engine/ops.js';
import { readScalar, readScalars, syncReadable } from '../../engine/read.js';
import type { Rng } from '../../engine/rng.js';
import { disposeBatch, toTensors, type BatchTensors } from '../train/batches.js';
import { AdamW } from '../../optim/adamw.js';
import { subsetNames } from '../model/gpt.js';
import type { ForwardView, TargetRule } from '../train/trainer.js';
import { familiesOf, shuffleAnswers, trimPadding } from './feedback.js';
import { GateTrace, type GateWindow } from './gate-trace.js';
import { scatterCandidates, topKCandidates, type Candidates } from './topk.js';
import type { ArmContext, ArmDefinition } from './types.js';
import { isMetaStep } from '../draws.js';

/** Where g_down comes from: the feedback set, a same-norm Gaussian, or the feedback set with answers permuted. */
export type FeedbackKind = 'true' | 'random' | 'shuffled';

/** Fewest probe batches whose correlation is reported. */
export const MIN_PROBE_BATCHES = 5;

/** One point of `curves.designer`, recorded at each meta step (and once after the last update). */
export interface DesignerPoint {
  /** Learner step at which the meta step ran (the final point: the number of learner steps). */
  step: number;
  /**
   * V on the meta step's batch at φ before this meta step's designer updates (null at the final point). Dot
   * value: `valueAfter` minus the change the updates made to the estimator's V (finite differences along
   * g_down); cosine value: the estimator's cos(g_down, g_pre).
   */
  value: number | null;
  /**
   * V on the same batch after them, exact: g_downᵀ g_pre with g_pre the learner's own gradient over S on that
   * step, whose targets are built by the updated φ (dot value only; null otherwise).
   */
  valueAfter: number | null;
  /** cos(g_down, g_pre) with g_pre the learner's own gradient over S on that step (targets of the updated φ). */
  cos: number | null;
  /** Mean α over answer tokens of the learner steps since the previous point. */
  gate: number;
  /** The same on tokens the generator marked wrong (NaN: none seen). */
  gateWrong: number;
  /** The same elsewhere. */
  gateOther: number;
  /** Designer updates so far. */
  updates: number;
}

/** One point of `curves.probe`. */
export interface ProbePoint {
  /** Learner step after whose update the probe ran. */
  step: number;
  /** Norm of that update on S (the step size the matched probe takes). */
  updateNorm: number;
  /** Mean η of the matched probe over its batches. */
  eta: number;
  /** Pearson r and slope of realised on predicted decrease at the matched step. */
  r: number;
  slope: number;
  /** The same at η = `probeLr` (first order). */
  rFirstOrder: number;
  slopeFirstOrder: number;
  predicted: number[];
  realised: number[];
  /**
   * The α-dependent part of V (the difference between the designer's targets and one-hot): Pearson r and slope of
   * realised on predicted at the matched step and at η = `probeLr`.
   */
  alphaR?: number;
  alphaSlope?: number;
  alphaRFirstOrder?: number;
  alphaSlopeFirstOrder?: number;
  /** The α part's predicted and realised decreases per batch at the matched step. */
  alphaPredicted?: number[];
  alphaRealised?: number[];
}

/** Steps after whose update the probe runs: `points` evenly spaced, the last after the final update; never step 0. */
export function probeSteps(steps: number, points: number): number[] {
  const out = new Set<number>();
  for (let k = 1; k <= points; k++) {
    const s = Math.round((k * steps) / points) - 1;
    if (s >= 1) out.add(s);
  }
  return [...out].sort((a, b) => a - b);
}

/**
 * Where one meta step's time went, by the clock (ms). Recorded only where ops run as they are called (every
 * backend but WebGPU, which queues them): the pieces of a queued step would time its dispatch, not its work.
 */
export interface MetaParts {
  /** The feedback batch's forward and the gradient over S: g_down (or its random stand-in). */
  gDownMs: number;
  /** The directional term D along g_down (S rerun from the learner's hidden state; the candidates are target building). */
  directionalMs: number;
  /**
   * The designer's update(s) on −V: its forward and backward over the batch and the optimiser (with the cosine
   * value also g_pre and its directional term).
   */
  designerMs: number;
}

/** A meta step whose device values are not read yet (`sync` reads them and makes its `DesignerPoint`). */
interface PendingPoint {
  step: number;
  /** [V before, V after] (kept on the device), once the learner's gradient of that step exists (dot value). */
  values?: tf.Tensor1D;
  /** cos(g_down, g_pre), once the learner's gradient of that step exists. */
  cos?: tf.Scalar;
  /** The learner steps whose gate this point reports. */
  window: GateWindow;
  updates: number;
}

/** The device tensors a pending point holds, in the order `sync` reads them. */
function pendingTensors(p: PendingPoint): tf.Tensor[] {
  return [...(p.values ? [p.values] : []), ...(p.cos ? [p.cos] : [])];
}

export class DesignerRule implements TargetRule {
  readonly designer: LmDesigner;
  readonly hiddenAt: number;
  private readonly opt: AdamW;
  private readonly subset: Subset;
  /** Feedback rows as labelled (the probe's downstream loss). */
  private readonly feedbackRows: TokenRows;
  /** Rows g_down is computed from (permuted answers for shuffled-feedback). */
  private readonly designRows: TokenRows;
  private readonly fbRng: Rng;
  private readonly noiseRng: Rng;
  private readonly probeRng: Rng;
  private readonly trace: GateTrace;
  readonly values: number[] = [];
  readonly metaMs: number[] = [];
  /** Each meta step's pieces (empty on WebGPU; see {@link MetaParts}). */
  readonly metaParts: MetaParts[] = [];
  readonly points: DesignerPoint[] = [];
  readonly probes: ProbePoint[] = [];
  private pending: PendingPoint[] = [];
  private updates = 0;
  /** Feedback draws consumed so far (when the harness made them). */
  private drawn = 0;
  private measureMs = 0;
  private readonly probeAt: Set<number>;
  /** θ_S before the update a probe point measures. */
  private snapshot: tf.Tensor[] | undefined;
  /** g_down of this step's meta step, kept for cos(g_down, g_pre) and V once the learner's gradient exists. */
  private cosDown: Grads | undefined;
  /**
   * Dot value, from this step's meta step to its targets: the directional term D′ of candidate logits and the
   * estimator's V′ at φ before the designer updates (V′ = V − C, C independent of φ).
   */
  private valueTerm: { D: tf.Tensor2D; before: tf.Scalar } | undefined;
  /** V′ before and after this step's designer updates, until the learner's gradient gives the exact V after. */
  private valueShift: { before: tf.Scalar; after: tf.Scalar } | undefined;
  /** The probe's feedback batch: drawn once, the same at every probe point. */
  private probeFbRows: TokenRows | undefined;
  /** Candidates of the current step's view, shared by its meta step and its targets. */
  private current: { view: ForwardView; c: Candidates; logp: tf.Tensor2D; entropy?: tf.Tensor1D } | undefined;

  constructor(private readonly ctx: ArmContext, private readonly feedback: FeedbackKind) {
    const { model, design } = ctx;
    this.designer = new LmDesigner(designerShapeOf(design, model.cfg.vocabSize, ctx.rowLength ?? model.cfg.blockSize), ctx.rng.fork('designer-init'));
    // Adam (tfjs's defaults: β 0.9/0.999, ε 1e-7 unless design.designerEps says), no decay, no clipping, on vpt's
    // fused kernel where it runs.
    this.opt = new AdamW(
      { lr: design.designerLr, beta1: 0.9, beta2: 0.999, eps: design.designerEps ?? 1e-7, weightDecay: 0, gradClip: 0, warmupSteps: 0, totalSteps: 1, minLrRatio: 1 },
      this.designer.vars,
    );
    this.subset = { from: model.cfg.nLayer - design.subsetBlocks, names: subsetNames(model.cfg, design.subsetBlocks) };
    this.hiddenAt = this.subset.from;
    this.feedbackRows = ctx.feedbackRows ?? padDocs(model.tokenizer, ctx.feedback.map((f) => formatQA(f.question, f.answer)));
    if (this.feedbackRows.seqLen > model.cfg.blockSize) throw new Error(`a feedback problem has ${this.feedbackRows.seqLen} tokens, more than blockSize ${model.cfg.blockSize}`);
    this.designRows = ctx.draws?.designRows ?? (feedback === 'shuffled'
      ? shuffleAnswers(this.feedbackRows, ctx.rng.fork('shuffle-feedback'), model.tokenizer.eosId, model.cfg.blockSize, familiesOf(ctx.feedback).families)
      : this.feedbackRows);
    this.fbRng = ctx.rng.fork('feedback-batches');
    this.noiseRng = ctx.rng.fork('random-feedback');
    this.probeRng = ctx.rng.fork('probe');
    this.trace = new GateTrace(ctx.steps);
    const probing = ctx.probeRows !== undefined && design.probeBatches >= MIN_PROBE_BATCHES;
    this.probeAt = new Set(probing ? probeSteps(ctx.steps, design.probePoints) : []);
  }

  private isMetaStep(step: number): boolean {
    return isMetaStep(step, this.ctx.design);
  }

  /** C_t and the learner's candidate log-probabilities, from the step's detached logits (computed once per view). */
  private candidates(view: ForwardView, targets: tf.Tensor1D): { c: Candidates; logp: tf.Tensor2D; entropy?: tf.Tensor1D } {
    if (this.current?.view !== view) {
      const c = topKCandidates(view.logits, targets, this.ctx.design.topK);
      const lse = rowLogSumExp(view.logits);
      // The learner's entropy H = lse − Σ p·logit, only for a gate that reads it.
      const entropy = this.ctx.design.gateFeatures
        ? (tf.sub(lse.reshape([-1]), tf.sum(tf.mul(tf.softmax(view.logits), view.logits), 1)) as tf.Tensor1D)
        : undefined;
      this.current = { view, c, logp: tf.sub(c.logits, lse) as tf.Tensor2D, ...(entropy ? { entropy } : {}) };
    }
    return this.current;
  }

  /** What the gate reads besides the context (only what the designer's shape asks for). */
  private gateInputs(b: BatchTensors, entropy: tf.Tensor1D | undefined): GateInputs {
    return { ...(entropy ? { entropy } : {}), ...(this.ctx.design.labelFeature ? { wrong: b.wrong } : {}) };
  }

  /** The candidates of this step's view: target building on every step, reused by a meta step. */
  prepare(b: BatchTensors, view: ForwardView): void {
    this.candidates(view, b.targets);
  }

  /** Designer-built targets and gates for a batch, from a view of the learner's forward on it. */
  private buildTargets(b: BatchTensors, view: ForwardView): { q: tf.Tensor2D; alpha: tf.Tensor1D; weights: tf.Tensor2D } {
    const { c, logp, entropy } = this.candidates(view, b.targets);
    const out = this.designer.apply(this.designer.vars, b.ids, b.targets, c, logp, this.gateInputs(b, entropy));
    return { q: scatterCandidates(c.ids, out.weights, this.ctx.model.cfg.vocabSize), alpha: out.alpha, weights: out.weights };
  }

  targets(b: BatchTensors, step: number, view: ForwardView): tf.Tensor2D {
    const { q, alpha, weights } = this.buildTargets(b, view);
    this.current = undefined;
    const term = this.valueTerm;
    if (term) {
      // V′ at the updated φ from the weights these targets are built from: no designer forward of its own.
      this.valueTerm = undefined;
      this.valueShift = { before: term.before, after: tf.keep(valueOfWeights(weights, term.D, b.mask)) };
      term.D.dispose();
    }
    this.trace.record(step, alpha, b);
    return q;
  }

  /** A feedback batch of `rows`: the given draw, or one drawn from `rng` (when the harness made no draws). */
  private feedbackSample(rows: TokenRows, rng: Rng, drawn?: number[]): TokenRows {
    const n = Math.min(this.ctx.design.feedbackBatch, rows.rows);
    return trimPadding(selectRows(rows, drawn ?? rng.sample(rows.rows, n)));
  }

  /** The next meta step's feedback batch of the design rows. */
  private feedbackBatch(): BatchTensors {
    const drawn = this.ctx.draws?.feedback;
    if (drawn && this.drawn >= drawn.length) throw new Error(`the harness drew ${drawn.length} feedback batches and the designer asked for more`);
    return toTensors(this.feedbackSample(this.designRows, this.fbRng, drawn?.[this.drawn++]));
  }

  /**
   * g_down for this meta step: from (possibly shuffled) feedback, or a same-norm Gaussian for random-feedback.
   * Draws the next feedback batch (public for `vpt bench`, which counts its work).
   */
  gDown(): Grads {
    const fb = this.feedbackBatch();
    const { loss, grads } = downstreamGrad(this.ctx.model, this.subset, fb);
    loss.dispose();
    disposeBatch(fb);
    if (this.feedback !== 'random') return grads;
    const noise = randomLike(grads, this.noiseRng);
    tf.dispose(Object.values(grads));
    return noise;
  }

  metaStep(b: BatchTensors, step: number, view: ForwardView): boolean {
    if (!this.isMetaStep(step)) return false;
    const t0 = performance.now();
    const { model } = this.ctx;
    const { fdEpsilon, value, designerSteps } = this.ctx.design;
    if (!view.hidden) throw new Error('the designer needs the hidden state entering S in the learner view');
    const hidden = view.hidden;
    const window = this.trace.mark();
    if (this.cosDown) tf.dispose(Object.values(this.cosDown));
    let gDown = this.gDown();
    const t1 = performance.now();
    // Candidates outlive this tidy: the targets of the same step reuse them.
    const { c, logp, entropy } = this.candidates(view, b.targets);
    const gate = this.gateInputs(b, entropy);
    const vars = Object.values(this.designer.vars);
    // The learner's own forward supplies the candidates and the activations below S: only S is rerun, at the
    // answer rows. Forward differences take the centre from the learner's own forward: one S-forward.
    const forwardDiff = this.ctx.design.fdScheme === 'forward';
    const directional = (g: Grads): tf.Tensor2D => tf.tidy(() => (value === 'dot'
      // The dot value needs D only up to a per-row constant: candidate logits, the head at K columns.
      ? directionalLogits(model, this.subset, hidden, b.ids, c.ids, g, fdEpsilon, b.mask, forwardDiff ? c.logits : undefined)
      : directionalLogp(model, this.subset, hidden, b.ids, c.ids, g, fdEpsilon, b.mask, forwardDiff ? logp : undefined)));
    let D = directional(gDown);
    let directionalMs = performance.now() - t1;
    const weightsOf = (): tf.Tensor2D => this.designer.apply(this.designer.vars, b.ids, b.targets, c, logp, gate).weights;
    let first: tf.Scalar | undefined;
    let gDownMs = t1 - t0;
    let designerMs = 0;
    const fresh = this.ctx.design.freshFeedback === true;
    for (let k = 0; k < designerSteps; k++) {
      if (k > 0 && fresh) {
        // A fresh feedback batch for this designer step: g_down and D anew (the designer sees independent signals).
        const tf0 = performance.now();
        tf.dispose([...Object.values(gDown), D]);
        gDown = this.gDown();
        const tf1 = performance.now();
        D = directional(gDown);
        gDownMs += tf1 - tf0;
        directionalMs += performance.now() - tf1;
      }
      // D does not depend on φ, so the dot value is exact at every φ on this batch; the cosine's ‖g_pre‖ term
      // is recomputed at each φ.
      const gd = gDown;
      const Dk = D;
      const tu = performance.now();
      const reported = tf.tidy(() => {
        let objective: () => tf.Scalar;
        let report: (o: tf.Scalar) => tf.Scalar;
        if (value === 'dot') {
          objective = () => tf.neg(valueOfWeights(weightsOf(), Dk, b.mask));
          report = (o) => tf.neg(o);
        } else {
          const w0 = weightsOf();
          const gPre = pretrainGrad(model, this.subset, b, hidden, scatterCandidates(c.ids, w0, model.cfg.vocabSize));
          const Dp = directionalLogp(model, this.subset, hidden, b.ids, c.ids, gPre, fdEpsilon, b.mask, forwardDiff ? logp : undefined);
          const cos = cosineLoss(w0, Dk, Dp, b.mask, globalNorm(Object.values(gd)), globalNorm(Object.values(gPre)));
          objective = () => cos.loss(weightsOf());
          report = () => cos.cosine;
        }
        const { value: o, grads } = tf.variableGrads(objective, vars);
        const named: Record<string, tf.Tensor> = {};
        for (const [k, v] of Object.entries(this.designer.vars)) if (grads[v.name]) named[k] = grads[v.name] as tf.Tensor;
        this.opt.update(named);
        return report(o);
      });
      designerMs += performance.now() - tu;
      // The value before the updates pairs with the value after on one g_down: with fresh feedback, the last
      // update's batch and the value before that update.
      if (k === 0 || fresh) {
        first?.dispose();
        first = reported;
      } else reported.dispose();
    }
    this.updates += designerSteps;
    if (syncReadable()) this.metaParts.push({ gDownMs, directionalMs, designerMs });
    // Read at the trainer's next sync, outside the step; kept past the learner step's tidy until then. The dot
    // value's pair is completed by `targets` (V′ after) and `afterGradients` (the exact V after).
    const point: PendingPoint = { step, window, updates: this.updates };
    if (value === 'dot') {
      this.valueTerm = { D: tf.keep(D), before: tf.keep(first as tf.Scalar) };
    } else {
      point.values = tf.keep(tf.tidy(() => tf.stack([first as tf.Scalar, tf.scalar(NaN)]))) as tf.Tensor1D;
      tf.dispose([D, first as tf.Scalar]);
    }
    this.pending.push(point);
    // Kept past the gradient scope the meta step runs in, for cos and V once the learner's gradient exists.
    for (const t of Object.values(gDown)) tf.keep(t);
    this.cosDown = gDown;
    this.metaMs.push(performance.now() - t0);
    return true;
  }

  /**
   * On a meta step, with g_pre = the learner's own gradient over S (exact, full forward, the updated φ's
   * targets): cos(g_down, g_pre), and for the dot value V after = g_downᵀg_pre and V before = V after minus
   * what the designer updates added to the estimator's V′.
   */
  afterGradients(grads: Readonly<Record<string, tf.Tensor>>): void {
    const gDown = this.cosDown;
    if (!gDown) return;
    this.cosDown = undefined;
    const shift = this.valueShift;
    this.valueShift = undefined;
    const gPre: Grads = {};
    for (const n of this.subset.names) gPre[n] = grads[n] as tf.Tensor;
    const [cos, values] = tf.tidy(() => {
      const v = dot(gDown, gPre);
      const cosine = tf.div(v, tf.mul(globalNorm(Object.values(gDown)), globalNorm(Object.values(gPre))));
      return shift ? [cosine, tf.stack([tf.add(tf.sub(v, shift.after), shift.before), v])] : [cosine];
    }) as [tf.Scalar, tf.Tensor1D?];
    tf.dispose(Object.values(gDown));
    if (shift) tf.dispose([shift.before, shift.after]);
    // The point of this step's meta step (made by it, not yet read: the trainer syncs after the step).
    const last = this.pending[this.pending.length - 1];
    if (last && !last.cos) {
      last.cos = tf.keep(cos);
      if (values) last.values = tf.keep(values);
    } else tf.dispose(values ? [cos, values] : [cos]);
  }

  /** Reads the pending meta steps' values and the gate sums (one read each), and appends their points. */
  async sync(): Promise<void> {
    const pending = this.pending;
    this.pending = [];
    try {
      await this.trace.flush();
      if (!pending.length) return;
      const x = await readScalars(pending.flatMap(pendingTensors));
      let i = 0;
      for (const p of pending) {
        const v = p.values ? (x[i++] as number) : NaN;
        const vAfter = p.values ? (x[i++] as number) : NaN;
        const cos = p.cos ? (x[i++] as number) : NaN;
        this.values.push(v);
        this.points.push({
          step: p.step, value: Number.isFinite(v) ? v : null, valueAfter: Number.isFinite(vAfter) ? vAfter : null, cos: Number.isFinite(cos) ? cos : null,
          ...this.trace.windowMeans(p.window), updates: p.updates,
        });
      }
    } finally {
      for (const p of pending) tf.dispose(pendingTensors(p));
    }
  }

  /** Probe points: keep θ_S before the update a point measures; after it, probe at that update's size. */
  async afterStep(step: number): Promise<void> {
    if (!this.probeAt.size) return;
    let t0 = performance.now();
    const { model, design, probeRows } = this.ctx;
    if (this.probeAt.has(step) && this.snapshot) {
      const norm = tf.tidy(() => globalNorm(this.subset.names.map((n, i) => tf.sub(model.params[n] as tf.Tensor, (this.snapshot as tf.Tensor[])[i] as tf.Tensor))));
      const updateNorm = await readScalar(norm).finally(() => norm.dispose());
      // That read waited for the learner steps still queued on an asynchronous device (training, not measurement).
      t0 = performance.now();
      tf.dispose(this.snapshot);
      this.snapshot = undefined;
      const [matched, first] = await this.probe(probeRows as TokenRows, design.probeBatches, [{ norm: updateNorm }, { eta: design.probeLr }]) as [ProbeSeries, ProbeSeries];
      this.probes.push({
        step, updateNorm, eta: matched.eta.reduce((a, x) => a + x, 0) / Math.max(1, matched.eta.length),
        r: matched.r, slope: matched.slope, rFirstOrder: first.r, slopeFirstOrder: first.slope,
        predicted: matched.predicted, realised: matched.realised,
        ...(matched.alpha && first.alpha ? {
          alphaR: matched.alpha.r, alphaSlope: matched.alpha.slope, alphaRFirstOrder: first.alpha.r, alphaSlopeFirstOrder: first.alpha.slope,
          alphaPredicted: matched.alpha.predicted, alphaRealised: matched.alpha.realised,
        } : {}),
      });
    }
    if (this.probeAt.has(step + 1)) {
      if (this.snapshot) tf.dispose(this.snapshot);
      this.snapshot = this.subset.names.map((n) => tf.clone(model.params[n] as tf.Tensor));
    }
    this.measureMs += performance.now() - t0;
  }

  /**
   * The one-step probe at the learner's current state over `batches` held-out batches of `rows`, for each step
   * size (see harness/language/designer/probe.ts); g_down from one fixed batch of the labelled feedback (the same at
   * every point), g_pre with the designer's current targets.
   */
  async probe(rows: TokenRows, batches: number, steps: Parameters<typeof probeOneStep>[5]): Promise<ProbeSeries[]> {
    const bs = Math.max(1, Math.floor(rows.rows / batches));
    const held: BatchTensors[] = [];
    for (let j = 0; j < batches && (j + 1) * bs <= rows.rows; j++) held.push(toTensors(selectRows(rows, Array.from({ length: bs }, (_, i) => j * bs + i))));
    this.probeFbRows ??= this.feedbackSample(this.feedbackRows, this.probeRng, this.ctx.draws?.probeFeedback);
    const fb = toTensors(this.probeFbRows);
    try {
      const vocab = this.ctx.model.cfg.vocabSize;
      return await probeOneStep(this.ctx.model, this.subset, held, fb, (b, view) => {
        const { q } = this.buildTargets(b, view);
        this.current = undefined;
        return q;
      }, steps, (b) => tf.oneHot(b.targets.toInt(), vocab).toFloat() as tf.Tensor2D);
    } finally {
      held.forEach(disposeBatch);
      disposeBatch(fb);
    }
  }

  async summary(): Promise<Record<string, number>> {
    await this.sync();
    const gate = await this.trace.diagnostics();
    // α on the meta steps' own batches, whose targets were built right after the designer's updates on their D:
    // where separation of wrong from other tokens should show first if V can teach it.
    const meta = await this.trace.totalsWhere((step) => this.isMetaStep(step));
    const mean = (xs: number[]): number => (xs.length ? xs.reduce((a, c) => a + c, 0) / xs.length : NaN);
    const last = this.probes[this.probes.length - 1];
    return {
      value_mean: mean(this.values),
      ...gate,
      gate_wrong_meta: meta.gateWrong,
      gate_other_meta: meta.gateOther,
      meta_steps: this.values.length,
      designer_updates: this.updates,
      meta_ms_mean: mean(this.metaMs),
      // Pearson r over fewer than MIN_PROBE_BATCHES points is ±1 or near it by construction: n/a instead.
      probe_r: last?.r ?? NaN,
      probe_slope: last?.slope ?? NaN,
      probe_r_first_order: last?.rFirstOrder ?? NaN,
      probe_eta: last?.eta ?? NaN,
      probe_alpha_r: last?.alphaR ?? NaN,
      probe_alpha_slope: last?.alphaSlope ?? NaN,
      probe_alpha_r_first_order: last?.alphaRFirstOrder ?? NaN,
      measure_ms: this.measureMs,
    };
  }

  async curves(): Promise<Record<string, unknown[]>> {
    await this.sync();
    const window = await this.trace.takeWindow();
    const points: DesignerPoint[] = [...this.points];
    const lastStep = this.trace.steps[this.trace.steps.length - 1]?.step;
    if (lastStep !== undefined && Number.isFinite(window.gate)) {
      points.push({ step: lastStep + 1, value: null, valueAfter: null, cos: null, ...window, updates: this.updates });
    }
    return { designer: points, alpha: this.trace.steps, ...(this.probes.length ? { probe: this.probes } : {}) };
  }

  dispose(): void {
    for (const p of this.pending) tf.dispose(pendingTensors(p));
    this.pending = [];
    if (this.valueTerm) tf.dispose([this.valueTerm.D, this.valueTerm.before]);
    if (this.valueShift) tf.dispose([this.valueShift.before, this.valueShift.after]);
    this.designer.dispose();
    this.opt.dispose();
    this.trace.dispose();
    if (this.snapshot) tf.dispose(this.snapshot);
    if (this.cosDown) tf.dispose(Object.values(this.cosDown));
  }
}

/** Version 4 of shuffled-feedback: answers from other families on data that names them (issue 24). */
function designerArm(name: string, feedback: FeedbackKind, description: string, version = 3): ArmDefinition {
  return { name, version, description, usesDesigner: true, create: (ctx: ArmContext) => new DesignerRule(ctx, feedback) };
}

export const vPretrainingArm = designerArm('v-pretraining', 'true', 'designer-built soft top-K targets, designer trained on V with g_down from feedback');
export const randomFeedbackArm = designerArm('random-feedback', 'random', 'as v-pretraining, but g_down is a same-norm Gaussian vector, fresh each meta step');
export const shuffledFeedbackArm = designerArm(
  'shuffled-feedback',
  'shuffled',
  'as v-pretraining, but the feedback answers are permuted across problems, from other families where the data names them (g_down of the right scale and format, wrong content)',
  4,
);
