/**
 * METHOD.md invariants: α = 0 gives the baseline's update exactly; given fixed targets the learner's update
 * is the plain soft cross-entropy update; feedback labels reach the learner only through the designer.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { armRegistry } from '../harness/language/arms/index.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import type { Gsm8kItem } from '../harness/language/data/gsm8k.js';
import { layerNorm } from '../harness/engine/ops.js';
import { Rng } from '../harness/engine/rng.js';
import { toTensors } from '../harness/language/train/batches.js';
import { forward, runBlocks, embedTokens } from '../harness/language/model/gpt.js';
import { softCrossEntropy } from '../harness/language/model/loss.js';
import { AdamW } from '../harness/optim/adamw.js';
import { learnerStep, trainLM } from '../harness/language/train/trainer.js';
import type { DesignConfig } from '../harness/language/schema.js';
import type { ArmContext } from '../harness/language/arms/types.js';
import { arraysEqual, microSuite, snapshot, tinyModel, useWasm } from './helpers.js';

const data = generateEmbedded({ seed: 5, trainSize: 24, testSize: 2, baseSize: 1, streamSize: 80, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });

async function train(arm: string, design: Partial<DesignConfig>, feedback: readonly Gsm8kItem[], steps = 4, extra: Partial<ArmContext> = {}): Promise<Record<string, Float32Array>> {
  const model = tinyModel(6);
  const s = microSuite();
  const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
  const rule = armRegistry.get(arm).create({ model, design: { ...s.design, ...design }, rng: new Rng(3), feedback, steps, ...extra });
  await trainLM({ model, rows, steps, batchSize: 2, rng: new Rng(4), rule, optim: { ...s.train, totalSteps: steps } });
  const out = snapshot(model.vars);
  rule.dispose?.();
  model.dispose();
  return out;
}

function sameParams(a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean {
  return Object.keys(a).every((k) => arraysEqual(a[k]!, b[k]!));
}

/** The same problems with every final answer and result changed: different labels, same questions. */
const wrongLabels = data.train.map((t) => ({ question: t.question, answer: t.answer.replace(/\d+/g, (n) => String(Number(n) + 7)) }));

describe('V-pretraining invariants', () => {
  before(useWasm);

  it('with α_max = 0 the learner update is bitwise the baseline update', async () => {
    const base = await train('baseline', {}, data.train);
    const v = await train('v-pretraining', { alphaMax: 0, burnIn: 0, metaEvery: 1 }, data.train);
    expect(sameParams(base, v)).to.equal(true);
    const vOn = await train('v-pretraining', { alphaMax: 0.5, burnIn: 0, metaEvery: 1 }, data.train);
    expect(sameParams(base, vOn)).to.equal(false);
  });

  for (const arm of ['random-feedback', 'shuffled-feedback', 'oracle-gate']) {
    it(`${arm}: with α_max = 0 the learner update is bitwise the baseline update`, async () => {
      const zero = { alphaMax: 0, burnIn: 0, metaEvery: 1, designerSteps: 3 };
      expect(sameParams(await train('baseline', {}, data.train), await train(arm, zero, data.train))).to.equal(true);
    });
  }

  it('schedule-matched: a zero schedule is bitwise the baseline update', async () => {
    const reads = { file: 'vp.json', record: { curves: { alpha: [0, 1, 2, 3].map((step) => ({ step, alpha: 0 })) } } };
    expect(sameParams(await train('baseline', {}, data.train), await train('schedule-matched', {}, data.train, 4, { reads }))).to.equal(true);
  });

  it('the probe is measurement: probing at several points changes nothing in the learner', async () => {
    const model = tinyModel(6);
    const probeRows = selectRows(packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32), [0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    model.dispose();
    const live = { burnIn: 0, metaEvery: 1, alphaMax: 0.5, designerLr: 0.05, probeBatches: 5, probePoints: 2 };
    expect(sameParams(await train('v-pretraining', live, data.train, 4), await train('v-pretraining', live, data.train, 4, { probeRows }))).to.equal(true);
  });

  it('given fixed targets, the learner gradient is the soft cross-entropy gradient and the step is plain AdamW', () => {
    const model = tinyModel(7);
    const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
    const b = toTensors(selectRows(rows, [0, 1]));
    const V = model.cfg.vocabSize;
    const N = b.targets.size;
    const q = tf.softmax(tf.tensor2d(new Rng(9).normals(N * V, 2), [N, V])) as tf.Tensor2D;
    // Independent: ∂L/∂head.w = fᵀ·((softmax(logits) − q)·m)/Σm, with f the final-norm features.
    const feats = layerNorm(
      runBlocks(model.cfg, model.params, embedTokens(model.cfg, model.params, b.ids), 2, 32, 0, model.cfg.nLayer),
      model.params['ln_f.g'] as tf.Tensor1D, model.params['ln_f.b'] as tf.Tensor1D,
    );
    const resid = tf.mul(tf.sub(tf.softmax(forward(model.cfg, model.params, b.ids)), q), b.mask.expandDims(1));
    const byHand = tf.div(tf.matMul(feats, resid, true, false), tf.sum(b.mask));
    const [auto] = tf.grads((w: tf.Tensor) => softCrossEntropy(forward(model.cfg, { ...model.params, 'head.w': w }, b.ids), q, b.mask))([model.params['head.w']!]);
    expect(tf.max(tf.abs(tf.sub(auto!, byHand))).dataSync()[0]).to.be.lessThan(1e-6);
    // The trainer's learner step with these targets equals AdamW applied to the soft-CE gradients.
    const s = microSuite();
    const cfg = { ...s.train, totalSteps: 4 };
    const twin = tinyModel(7);
    const names = Object.keys(twin.vars);
    const grads = tf.grads((...xs: tf.Tensor[]) => softCrossEntropy(forward(twin.cfg, Object.fromEntries(names.map((n, i) => [n, xs[i]!])), b.ids), q, b.mask))(
      names.map((n) => twin.vars[n]!),
    );
    new AdamW(cfg, twin.vars).apply(Object.fromEntries(names.map((n, i) => [n, grads[i]!])));
    learnerStep(model, new AdamW(cfg, model.vars), b, { targets: () => q }, 0);
    expect(sameParams(snapshot(model.vars), snapshot(twin.vars))).to.equal(true);
  });

  for (const arm of ['v-pretraining', 'shuffled-feedback']) {
    it(`${arm}: with the designer frozen, changing the feedback labels changes nothing in the learner`, async () => {
      const frozen = { burnIn: 100, metaEvery: 1, alphaMax: 0.5 };
      expect(sameParams(await train(arm, frozen, data.train), await train(arm, frozen, wrongLabels))).to.equal(true);
    });

    it(`${arm}: with the designer learning, feedback labels reach the learner (through the designer only)`, async () => {
      const live = { burnIn: 0, metaEvery: 1, alphaMax: 0.5, designerLr: 0.05, designerSteps: 2 };
      expect(sameParams(await train(arm, live, data.train), await train(arm, live, wrongLabels))).to.equal(false);
    });
  }

  it('the cosine value option runs the same cadence and steers the designer differently from the dot product', async () => {
    const live = { burnIn: 0, metaEvery: 1, alphaMax: 0.5, designerLr: 0.05 };
    const dot = await train('v-pretraining', { ...live, value: 'dot' }, data.train);
    const cos = await train('v-pretraining', { ...live, value: 'cosine' }, data.train);
    expect(sameParams(dot, cos)).to.equal(false);
    for (const v of Object.values(cos)) expect(v.every(Number.isFinite)).to.equal(true);
  });
});
