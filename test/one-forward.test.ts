/**
 * One forward per learner step: targets are built from detached views of the forward the update
 * differentiates, so they carry no gradient, and the update equals the update against the same targets
 * computed beforehand as constants (the two-forward way).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { armRegistry } from '../harness/language/arms/index.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { detach, withoutTape } from '../harness/engine/ops.js';
import { Rng } from '../harness/engine/rng.js';
import { toTensors } from '../harness/language/train/batches.js';
import { AdamW } from '../harness/optim/adamw.js';
import { learnerStep, viewOf, type TargetRule } from '../harness/language/train/trainer.js';
import { arraysEqual, microSuite, snapshot, tinyModel, useWasm } from './helpers.js';

const data = generateEmbedded({ seed: 5, trainSize: 24, testSize: 2, baseSize: 1, streamSize: 60, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });

describe('one forward per learner step', () => {
  before(useWasm);

  it('detach and withoutTape cut the gradient, and gradients taken inside withoutTape still work', () => {
    const x = tf.tensor1d([0.5, -1.5, 2]);
    const w = tf.tensor1d([3, 1, -2]);
    // d/dx Σ x·stop(x·w) = x·w (the stopped factor is a constant), not 2·x·w.
    const [viaDetach] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(a, detach(tf.mul(a, w)))))([x]);
    const [viaPause] = tf.grads((a: tf.Tensor) => tf.sum(tf.mul(a, withoutTape(() => tf.mul(a, w)))))([x]);
    const [inner] = tf.grads((a: tf.Tensor) => {
      // A gradient of its own inside the pause: d/dx Σ x² = 2x, used as a constant by the outer gradient.
      const g = withoutTape(() => tf.grads((b: tf.Tensor) => tf.sum(tf.square(b)))([a])[0]!);
      return tf.sum(tf.mul(a, g));
    })([x]);
    const expected = [1.5, -1.5, -4];
    for (const g of [viaDetach!, viaPause!]) expect(Array.from(g.dataSync())).to.deep.equal(expected);
    expect(Array.from(inner!.dataSync())).to.deep.equal([1, -3, 4]);
    // A detached tensor shares the values and survives its source being disposed.
    const y = tf.mul(x, 2);
    const d = detach(y);
    y.dispose();
    expect(Array.from(d.dataSync())).to.deep.equal([1, -3, 4]);
  });

  for (const arm of ['self-distill', 'v-pretraining']) {
    it(`${arm}: the one-forward step equals the step against the same targets built beforehand as constants`, () => {
      const s = microSuite();
      const design = { ...s.design, burnIn: 0, metaEvery: 1, alphaMax: 0.5, designerLr: 0.05 };
      const run = (twoForward: boolean): Record<string, Float32Array> => {
        const model = tinyModel(9);
        const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
        const b = toTensors(selectRows(rows, [0, 1, 2]));
        const rule = armRegistry.get(arm).create({ model, design, rng: new Rng(3), feedback: data.train, steps: 2 });
        const opt = new AdamW({ ...s.train, totalSteps: 2 }, model.vars);
        for (let step = 0; step < 2; step++) {
          let stepRule: TargetRule = rule;
          let q: tf.Tensor2D | undefined;
          if (twoForward) {
            // Separate forward, meta step and targets first; then the update sees q only as a constant.
            q = tf.tidy(() => {
              const view = viewOf(model, b.ids, rule.hiddenAt);
              rule.metaStep?.(b, step, view);
              return rule.targets(b, step, view);
            });
            stepRule = { targets: () => q! };
          }
          const r = learnerStep(model, opt, b, stepRule, step);
          tf.dispose([r.loss, r.gradNorm, q]);
        }
        const out = snapshot(model.vars);
        rule.dispose?.();
        opt.dispose();
        model.dispose();
        return out;
      };
      const one = run(false);
      const two = run(true);
      for (const k of Object.keys(one)) expect(arraysEqual(one[k]!, two[k]!), k).to.equal(true);
    });
  }
});
