/**
 * The vision value estimator against exact computations on a tiny DINO ViT (3 blocks, S = the last 2, so the
 * designer's gradient also flows through a block below S): V = g_downᵀ g_pre with g_pre from explicit
 * gradients of a full forward, for two designer settings; the designer gradient of the finite-difference
 * objective against central differences of the exact V along a random designer direction; g_down from cached
 * activations below S against the explicit gradient of a full forward.
 * Tolerances (float32): V 1e-2 relative (ε = 3e-3 along the unit ĝ: the O(ε²) bias is ~0.06% on this strongly
 * curved tiny model, 0.6% at ε = 1e-2); gradient 3e-2 relative (unit δ, h = 4e-2 and 8e-2).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { generateSceneData } from '../harness/vision/data/scenes.js';
import { Rng } from '../harness/engine/rng.js';
import { DEFAULT_AUGMENT } from '../harness/vision/augment.js';
import { DEFAULT_DINO, type DinoConfig } from '../harness/vision/dino.js';
import { feedbackBatch, FeedbackHeads, feedbackSources } from '../harness/vision/designer/feedback.js';
import { maskedViews } from '../harness/vision/designer/masks.js';
import { MaskDesigner } from '../harness/vision/designer/unet.js';
import {
  downstreamGrad, localHidden, pretrainBatch, pretrainGrad, slopeAlong, subsetGrad, unitDirection, visionSubset,
} from '../harness/vision/designer/value.js';
import { DinoModel } from '../harness/vision/model.js';
import { cropBatch } from '../harness/vision/trainer.js';
import { vitTokens, type Params } from '../harness/vision/vit.js';
import { DEFAULT_SCENES, sceneLabelInfo } from '../harness/vision/data/scenes.js';
import type { VisionData } from '../harness/vision/data/load.js';
import { useWasm } from './helpers.js';

const EPS = 3e-3;

function setup(nLocal = 2, blurSigma = 2, dino: DinoConfig = DEFAULT_DINO) {
  const model = DinoModel.init(
    { vit: { imageSize: 16, patchSize: 4, channels: 3, width: 16, depth: 3, heads: 2, mlpRatio: 2 }, head: { hidden: 32, bottleneck: 16, out: 32 } },
    new Rng(3),
  );
  // Teacher ≠ student, as after training, so targets are not the student's own outputs.
  for (const [k, v] of Object.entries(model.teacher)) v.assign(tf.add(v, tf.tensor(new Rng(4).fork(k).normals(v.size, 0.02), v.shape)));
  const S = visionSubset(model.cfg.vit, 2);
  expect(S.from).to.equal(1);
  const scenes = generateSceneData({ ...DEFAULT_SCENES, seed: 5, size: 16, unlabeled: 8, feedback: 6, probeTrain: 1, validation: 1, test: 1 });
  const data = { feedback: { segmentation: scenes.feedback, depth: scenes.feedback } } as unknown as VisionData;
  const sources = feedbackSources(data, { seg: 1, depth: 1 });
  const heads = new FeedbackHeads(model.cfg.vit, { seg: 1, depth: 0.5, numClasses: sceneLabelInfo('nearest-type').segClasses, lr: 0.05 }, sources);
  heads.fit(model.student, 20, 6, new Rng(6));
  const fb = feedbackBatch(sources[0]!, [0, 1, 2, 3], sceneLabelInfo('nearest-type').segClasses);
  const aug = { ...DEFAULT_AUGMENT, globalSize: 16, localSize: 8, nLocal };
  const crops = cropBatch({ n: scenes.unlabeled.n, size: 16, data: scenes.unlabeled.images }, [0, 1, 2], aug, new Rng(7));
  const b = pretrainBatch(model, crops, 3, dino, blurSigma, new Rng(11));
  const designer = new MaskDesigner({ width: 4, levels: 2, channels: 3 }, new Rng(8));
  // A livelier last layer than the default init, so masks vary across pixels and images.
  designer.vars['out.w']!.assign(tf.mul(designer.vars['out.w']!, 20));
  const { grads: gDown } = downstreamGrad(model, S, heads, fb);
  const unit = unitDirection(gDown);
  const norm = Math.sqrt(Object.values(gDown).reduce((a, g) => a + tf.sum(tf.square(g)).dataSync()[0]!, 0));
  const views = (phi: Params): tf.Tensor4D => maskedViews(b.global, b.blurred, designer.masks(b.global, phi), 1);
  /** V by explicit gradients of the full forward. */
  const exactV = (phi: Params): number => {
    const gPre = pretrainGrad(model, S, views(phi), b, dino).grads;
    return tf.addN(S.names.map((n) => tf.sum(tf.mul(gPre[n]!, gDown[n]!)))).dataSync()[0]!;
  };
  const locals = localHidden(model, S, b);
  const slope = (phi: Params): tf.Scalar => slopeAlong(model, S, views(phi), locals, b, unit, EPS, dino);
  return { model, S, heads, fb, designer, gDown, norm, exactV, slope, views, b };
}

describe('vision value estimator V = g_downᵀ g_pre (masks) and its designer gradient', () => {
  before(useWasm);

  it('the central difference along ĝ_down matches explicit gradients for two designer settings', () => {
    const { designer, exactV, slope, norm } = setup();
    const rng = new Rng(21);
    const phi2: Params = Object.fromEntries(Object.entries(designer.vars).map(([k, v]) => [k, tf.add(v, tf.tensor(rng.normals(v.size, 0.5), v.shape))]));
    const values: number[] = [];
    for (const phi of [designer.vars as Params, phi2]) {
      const exact = exactV(phi);
      const est = slope(phi).dataSync()[0]! * norm;
      values.push(exact);
      expect(Math.abs(exact), 'V is not negligible').to.be.greaterThan(1e-4);
      expect(Math.abs(est - exact), `V exact ${exact} vs estimate ${est}`).to.be.lessThan(1e-2 * Math.abs(exact));
    }
    // The designer changes the value: the test would notice an estimator that ignored the masks.
    expect(Math.abs(values[0]! - values[1]!)).to.be.greaterThan(1e-2 * Math.abs(values[0]!));
  });

  it("with iBOT, KoLeo and Sinkhorn centring on, V is the learner's extended loss's and the difference still matches it", () => {
    const extended: DinoConfig = { ...DEFAULT_DINO, ibotWeight: 1, ibotMaskProb: 1, koleoWeight: 0.1, centering: 'sinkhorn' };
    const { designer, exactV, slope, norm, b } = setup(2, 2, extended);
    expect(b.patch, 'the meta batch carries its iBOT masking').to.not.equal(undefined);
    const exact = exactV(designer.vars);
    const est = slope(designer.vars).dataSync()[0]! * norm;
    expect(Math.abs(est - exact), `V exact ${exact} vs estimate ${est}`).to.be.lessThan(1e-2 * Math.abs(exact));
    // The added terms change V: an estimator that dropped them would be caught by the line above.
    const dinoOnly = setup(2, 2, { ...DEFAULT_DINO, centering: 'sinkhorn' });
    expect(Math.abs(dinoOnly.exactV(dinoOnly.designer.vars) - exact)).to.be.greaterThan(1e-2 * Math.abs(exact));
  });

  it('∇_φ of the estimate matches central differences of the exact V along random designer directions', () => {
    const { designer, exactV, slope, norm } = setup();
    const rng = new Rng(22);
    const names = Object.keys(designer.vars);
    const grads = tf.grads((...xs: tf.Tensor[]) => tf.mul(slope(Object.fromEntries(names.map((n, i) => [n, xs[i]!]))), norm) as tf.Scalar)(names.map((n) => designer.vars[n]!));
    // Every parameter (the whole U-Net's backprop), and the output layer alone (a larger change of V per unit).
    // V changes little per unit of φ next to its size (~3), so h is large enough for float32 differences.
    for (const [label, within, h] of [['all parameters', (_n: string) => true, 8e-2], ['output layer', (n: string) => n.startsWith('out.'), 4e-2]] as const) {
      const raw = names.map((n) => tf.tensor(rng.normals(designer.vars[n]!.size, within(n) ? 1 : 0), designer.vars[n]!.shape));
      const rawNorm = Math.sqrt(raw.reduce((a, t) => a + tf.sum(tf.square(t)).dataSync()[0]!, 0));
      const delta = raw.map((t) => tf.div(t, rawNorm));
      const analytic = tf.addN(grads.map((g, i) => tf.sum(tf.mul(g, delta[i]!)))).dataSync()[0]!;
      const shifted = (sgn: number): Params => Object.fromEntries(names.map((n, i) => [n, tf.add(designer.vars[n]!, tf.mul(delta[i]!, sgn * h))]));
      const numeric = (exactV(shifted(1)) - exactV(shifted(-1))) / (2 * h);
      expect(Math.abs(numeric), `${label}: directional derivative is not negligible`).to.be.greaterThan(1e-4);
      expect(Math.abs(analytic - numeric), `${label}: ∇V·δ ${analytic} vs differences ${numeric}`).to.be.lessThan(3e-2 * Math.abs(numeric));
    }
  });

  it('designer steps on −V̂ raise the exact V of a fixed batch', () => {
    const { designer, exactV, slope } = setup();
    const before = exactV(designer.vars);
    const opt: tf.Optimizer = tf.train.adam(0.05);
    for (let t = 0; t < 8; t++) {
      const { grads } = tf.variableGrads(() => tf.neg(slope(designer.vars)) as tf.Scalar, Object.values(designer.vars));
      opt.applyGradients(grads);
    }
    const after = exactV(designer.vars);
    expect(after - before, `V ${before} → ${after}`).to.be.greaterThan(1e-2 * Math.abs(before));
  });

  it('g_down from activations below S equals the explicit gradient of the full forward', () => {
    const { model, S, heads, fb, gDown } = setup();
    const { grads: full } = subsetGrad(model.student, S, (p) => heads.loss(vitTokens(model.cfg.vit, p, fb.images).tokens, fb));
    for (const n of S.names) {
      const diff = tf.max(tf.abs(tf.sub(full[n]!, gDown[n]!))).dataSync()[0]!;
      const scale = tf.max(tf.abs(full[n]!)).dataSync()[0]!;
      expect(scale, n).to.be.greaterThan(0);
      expect(diff, n).to.be.lessThan(1e-5 * scale + 1e-7);
    }
  });
});
