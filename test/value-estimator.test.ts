/**
 * The value estimator against an exact computation on a tiny model: g_pre from explicit gradients of the
 * learner's loss (full forward, no activation reuse) for two designer settings, V = g_downᵀ g_pre, and
 * ∇_φ V checked against central differences of the exact V along a random designer direction.
 * Tolerances: value 1e-3 relative (float32, ε = 1e-3 along the unit ĝ_down; forward differences 1e-2 at
 * ε = 1e-4); gradient 2e-2 relative (unit δ, h = 3e-2).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { topKCandidates, scatterCandidates } from '../harness/language/arms/topk.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { formatQA } from '../harness/language/data/numina.js';
import { packDocs, padDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { LmDesigner } from '../harness/language/designer/lm-designer.js';
import { candidateLogp, cosineLoss, directionalLogits, directionalLogp, downstreamGrad, pretrainGrad, valueOfWeights, type Subset } from '../harness/language/designer/value.js';
import { globalNorm, pickColumns } from '../harness/engine/ops.js';
import { Rng } from '../harness/engine/rng.js';
import { toTensors } from '../harness/language/train/batches.js';
import { forward, hiddenBelow, subsetNames, type Params } from '../harness/language/model/gpt.js';
import { maskedNll, softCrossEntropy } from '../harness/language/model/loss.js';
import { tinyModel, useWasm } from './helpers.js';

function setup() {
  const model = tinyModel(4, 3);
  const S: Subset = { from: 1, names: subsetNames(model.cfg, 2) };
  const d = generateEmbedded({ seed: 9, trainSize: 8, testSize: 2, baseSize: 1, streamSize: 30, relevantFraction: 0.7, corruptFraction: 0, leakFraction: 0 });
  const rows = packDocs(model.tokenizer, d.cpt.map(rowToDoc), 24);
  const b = toTensors(selectRows(rows, [0, 1]));
  const fb = toTensors(padDocs(model.tokenizer, d.train.slice(0, 4).map((x) => formatQA(x.question, x.answer))));
  const designer = new LmDesigner({ vocabSize: model.cfg.vocabSize, blockSize: model.cfg.blockSize, width: 16, layers: 1, heads: 2, alphaMax: 0.5 }, new Rng(8));
  // Raise the gate so the designer's distribution matters.
  designer.vars['gate.b']!.assign(tf.tensor1d([1]));

  const withS = (xs: tf.Tensor[]): Params => ({ ...model.params, ...Object.fromEntries(S.names.map((n, i) => [n, xs[i]!])) });
  const sParams = S.names.map((n) => model.params[n]!);
  const gDownList = tf.grads((...xs: tf.Tensor[]) => maskedNll(forward(model.cfg, withS(xs), fb.ids), fb.targets, fb.mask))(sParams);
  const gDown = Object.fromEntries(S.names.map((n, i) => [n, gDownList[i]!]));

  const logits = forward(model.cfg, model.params, b.ids);
  const c = topKCandidates(logits, b.targets, 6);
  const logp = tf.sub(c.logits, tf.logSumExp(logits, -1, true)) as tf.Tensor2D;
  const weights = (p: Params): tf.Tensor2D => designer.apply(p, b.ids, b.targets, c, logp).weights;

  /** g_pre over S by explicit gradients of a full forward (no activation reuse, no differences). */
  const exactPre = (p: Params): tf.Tensor[] => {
    const q = scatterCandidates(c.ids, weights(p), model.cfg.vocabSize);
    return tf.grads((...xs: tf.Tensor[]) => softCrossEntropy(forward(model.cfg, withS(xs), b.ids), q, b.mask))(sParams);
  };
  const exactV = (p: Params): number => tf.addN(exactPre(p).map((g, i) => tf.sum(tf.mul(g, gDownList[i]!)))).dataSync()[0]!;
  const hidden = hiddenBelow(model.cfg, model.params, b.ids, S.from);
  const D = directionalLogp(model, S, hidden, b.ids, c.ids, gDown, 1e-3);
  const estV = (p: Params): number => valueOfWeights(weights(p), D, b.mask).dataSync()[0]!;

  return { model, S, b, fb, designer, gDown, gDownList, c, weights, exactPre, exactV, estV, D, hidden };
}

/**
 * ∇_φ of the estimator along a random unit direction δ against central differences (h = 3e-2) of the exact
 * quantity; tolerance 2e-2 relative.
 */
function expectGradientAlongRandomDirection(
  vars: Params,
  estimator: (p: Params) => tf.Scalar,
  exact: (p: Params) => number,
  rng: Rng,
  label: string,
): void {
  const names = Object.keys(vars);
  const grads = tf.grads((...xs: tf.Tensor[]) => estimator(Object.fromEntries(names.map((n, i) => [n, xs[i]!]))))(names.map((n) => vars[n]!));
  const raw = names.map((n) => tf.tensor(rng.normals(vars[n]!.size, 1), vars[n]!.shape));
  const rawNorm = Math.sqrt(raw.reduce((a, t) => a + tf.sum(tf.square(t)).dataSync()[0]!, 0));
  const delta = raw.map((t) => tf.div(t, rawNorm));
  const analytic = tf.addN(grads.map((g, i) => tf.sum(tf.mul(g, delta[i]!)))).dataSync()[0]!;
  const h = 3e-2;
  const shifted = (sgn: number): Params => Object.fromEntries(names.map((n, i) => [n, tf.add(vars[n]!, tf.mul(delta[i]!, sgn * h))]));
  const numeric = (exact(shifted(1)) - exact(shifted(-1))) / (2 * h);
  expect(Math.abs(analytic - numeric), `${label} ${analytic} vs ${numeric}`).to.be.lessThan(2e-2 * Math.abs(numeric) + 1e-6);
}

describe('value estimator V = g_downᵀ g_pre and its designer gradient', () => {
  before(useWasm);

  it('matches explicit gradients for two designer settings, and ∇_φV matches differences of the exact V', () => {
    const { model, b, designer, weights, exactV, estV, D } = setup();
    const rng = new Rng(21);
    const phi1: Params = { ...designer.vars };
    const phi2: Params = Object.fromEntries(Object.entries(designer.vars).map(([k, v]) => [k, tf.add(v, tf.tensor(rng.normals(v.size, 0.3), v.shape))]));
    const values: number[] = [];
    for (const phi of [phi1, phi2]) {
      const exact = exactV(phi);
      const est = estV(phi);
      values.push(exact);
      expect(Math.abs(est - exact), `V exact ${exact} vs estimate ${est}`).to.be.lessThan(1e-3 * Math.abs(exact) + 1e-6);
    }
    expect(values[0]).to.not.be.closeTo(values[1]!, 1e-6);

    expectGradientAlongRandomDirection(designer.vars, (p) => valueOfWeights(weights(p), D, b.mask), exactV, rng, '∇V·δ');
    designer.dispose();
    model.dispose();
  });

  it('answer rows only: g_down equals the full explicit gradient, D equals the full D on masked rows and is 0 elsewhere', () => {
    const { model, S, b, fb, gDownList, gDown, c, hidden, D, weights, designer, exactV } = setup();
    // The batches mix answer and prompt rows, so the restriction is exercised.
    const fm = fb.mask.dataSync();
    expect(fm.some((x) => x === 0) && fm.some((x) => x !== 0)).to.equal(true);
    const { loss, grads } = downstreamGrad(model, S, fb);
    loss.dispose();
    S.names.forEach((n, i) => {
      const diff = tf.max(tf.abs(tf.sub(grads[n]!, gDownList[i]!))).dataSync()[0]!;
      const scale = tf.max(tf.abs(gDownList[i]!)).dataSync()[0]!;
      expect(diff, n).to.be.lessThan(1e-5 * scale + 1e-7);
    });
    const Dm = directionalLogp(model, S, hidden, b.ids, c.ids, gDown, 1e-3, b.mask);
    const m = b.mask.dataSync();
    const full = D.arraySync();
    const rows = Dm.arraySync();
    rows.forEach((row, i) => row.forEach((x, k) => {
      if (m[i] === 0) expect(x).to.equal(0);
      else expect(x).to.be.closeTo(full[i]![k]!, 1e-3 * Math.abs(full[i]![k]!) + 2e-4);
    }));
    const exact = exactV(designer.vars);
    const est = valueOfWeights(weights(designer.vars), Dm, b.mask).dataSync()[0]!;
    expect(Math.abs(est - exact), `V exact ${exact} vs masked-rows estimate ${est}`).to.be.lessThan(1e-3 * Math.abs(exact) + 1e-6);
    designer.dispose();
    model.dispose();
  });

  it('forward differences from the learner\'s own log-probabilities (one S-forward): exact V to O(ε)', () => {
    const { model, S, b, gDown, c, hidden, weights, designer, exactV } = setup();
    // The center as the learner step has it: its own logits' log-probabilities at the candidates.
    const center = candidateLogp(forward(model.cfg, model.params, b.ids), c.ids);
    const exact = exactV(designer.vars);
    const est = (eps: number): number => valueOfWeights(weights(designer.vars), directionalLogp(model, S, hidden, b.ids, c.ids, gDown, eps, b.mask, center), b.mask).dataSync()[0]!;
    // This tiny random model is strongly curved along ĝ_down: the O(ε) bias is ~3% per 1e-3 of ε (central
    // differences: 0.02% at 1e-3), so ε = 1e-4 and a 1% tolerance; the bias shrinks linearly with ε.
    const near = est(1e-4);
    expect(Math.abs(near - exact), `V exact ${exact} vs forward-difference estimate ${near}`).to.be.lessThan(1e-2 * Math.abs(exact));
    expect(Math.abs(est(1e-3) - exact)).to.be.greaterThan(Math.abs(near - exact));
    designer.dispose();
    model.dispose();
  });

  it('candidate logits only (the dot value\'s D′): V differs from the exact V by one constant, so ∇_φV is exact', () => {
    const { model, S, b, gDown, c, hidden, weights, designer, exactV } = setup();
    const Dl = directionalLogits(model, S, hidden, b.ids, c.ids, gDown, 1e-3, b.mask);
    const rng = new Rng(23);
    const phi2: Params = Object.fromEntries(Object.entries(designer.vars).map(([k, v]) => [k, tf.add(v, tf.tensor(rng.normals(v.size, 0.3), v.shape))]));
    const estOf = (p: Params): number => valueOfWeights(weights(p), Dl, b.mask).dataSync()[0]!;
    // V′(φ) − V(φ) is the same constant at two designer settings whose exact V differ.
    const shift1 = estOf(designer.vars) - exactV(designer.vars);
    const shift2 = estOf(phi2) - exactV(phi2);
    expect(Math.abs(exactV(designer.vars) - exactV(phi2))).to.be.greaterThan(1e-4);
    expect(Math.abs(shift1 - shift2), `V′ − V: ${shift1} vs ${shift2}`).to.be.lessThan(1e-3 * Math.abs(exactV(phi2)) + 1e-6);
    expectGradientAlongRandomDirection(designer.vars, (p) => valueOfWeights(weights(p), Dl, b.mask), exactV, rng, '∇V′·δ');
    // Forward differences from the learner's own candidate logits: the same up to O(ε).
    const center = pickColumns(forward(model.cfg, model.params, b.ids), c.ids);
    const Df = directionalLogits(model, S, hidden, b.ids, c.ids, gDown, 1e-4, b.mask, center);
    const shiftF = valueOfWeights(weights(designer.vars), Df, b.mask).dataSync()[0]! - exactV(designer.vars);
    expect(Math.abs(shiftF - shift1)).to.be.lessThan(1e-2 * Math.abs(exactV(designer.vars)));
    designer.dispose();
    model.dispose();
  });

  it('the cosine option: value and designer gradient match the exact cosine of explicit gradients', () => {
    const { model, S, b, designer, gDown, gDownList, c, weights, exactPre, hidden, D } = setup();
    const norm = (ts: tf.Tensor[]): number => Math.sqrt(ts.reduce((a, t) => a + tf.sum(tf.square(t)).dataSync()[0]!, 0));
    const nd = norm(gDownList);
    const exactCos = (p: Params): number => {
      const gPre = exactPre(p);
      return tf.addN(gPre.map((g, i) => tf.sum(tf.mul(g, gDownList[i]!)))).dataSync()[0]! / (nd * norm(gPre));
    };
    const w0 = weights(designer.vars);
    const gPre0 = pretrainGrad(model, S, b, hidden, scatterCandidates(c.ids, w0, model.cfg.vocabSize));
    const Dp = directionalLogp(model, S, hidden, b.ids, c.ids, gPre0, 1e-3);
    const cos = cosineLoss(w0, D, Dp, b.mask, globalNorm(Object.values(gDown)), globalNorm(Object.values(gPre0)));
    const exact0 = exactCos(designer.vars);
    expect(Math.abs(cos.cosine.dataSync()[0]! - exact0), `cosine ${exact0}`).to.be.lessThan(1e-3 * Math.abs(exact0) + 1e-6);
    expectGradientAlongRandomDirection(designer.vars, (p) => tf.neg(cos.loss(weights(p))), exactCos, new Rng(33), '∇cos·δ');
    designer.dispose();
    model.dispose();
  });
});
