import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { AdamW, scheduledLr, type AdamWConfig } from '../harness/optim/adamw.js';
import { useWasm } from './helpers.js';

const cfg: AdamWConfig = { lr: 0.1, beta1: 0.9, beta2: 0.95, eps: 1e-8, weightDecay: 0.5, gradClip: 1, warmupSteps: 2, totalSteps: 12, minLrRatio: 0.1 };

describe('AdamW, clipping and schedule', () => {
  before(useWasm);

  it('follows linear warmup then cosine to lr·minLrRatio', () => {
    expect(scheduledLr(cfg, 0)).to.be.closeTo(0.05, 1e-12);
    expect(scheduledLr(cfg, 1)).to.be.closeTo(0.1, 1e-12);
    expect(scheduledLr(cfg, 2)).to.be.closeTo(0.1, 1e-12);
    expect(scheduledLr(cfg, 7)).to.be.closeTo(0.01 + 0.5 * 0.09, 1e-12);
    expect(scheduledLr(cfg, 12)).to.be.closeTo(0.01, 1e-12);
  });

  it('matches a hand computation of one clipped, decoupled-decay step', () => {
    const w = tf.variable(tf.tensor2d([[1, -2], [0.5, 3]]));
    const b = tf.variable(tf.tensor1d([1, 1]));
    const opt = new AdamW(cfg, { w, b });
    const gw = [[3, 0], [0, 4]];
    const gb = [0, 0];
    opt.apply({ w: tf.tensor2d(gw), b: tf.tensor1d(gb) }).dispose();
    // Global norm 5 > clip 1: grads scale by 1/5. Step 1: m̂ = g, v̂ = g², update = g/(|g|+eps) = sign(g).
    const lr = 0.05;
    const expectW = [[1 * (1 - lr * 0.5) - lr, -2 * (1 - lr * 0.5)], [0.5 * (1 - lr * 0.5), 3 * (1 - lr * 0.5) - lr]];
    const got = w.arraySync() as number[][];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expect(got[i]![j]).to.be.closeTo(expectW[i]![j]!, 1e-6);
    // Vectors (biases, norms) are not decayed; a zero gradient leaves them unchanged.
    expect(b.arraySync()).to.deep.equal([1, 1]);
    opt.dispose();
  });

  it('without decay or clipping is tfjs\'s Adam (the designer\'s optimiser): same values after 5 steps', () => {
    const init = [[0.3, -1.2, 2], [0.7, 0.1, -0.4]];
    const a = tf.variable(tf.tensor2d(init));
    const b = tf.variable(tf.tensor2d(init));
    const ours = new AdamW({ lr: 0.03, beta1: 0.9, beta2: 0.999, eps: 1e-7, weightDecay: 0, gradClip: 0, warmupSteps: 0, totalSteps: 1, minLrRatio: 1 }, { a });
    const theirs = tf.train.adam(0.03, 0.9, 0.999, 1e-7);
    for (let t = 0; t < 5; t++) {
      // A gradient that changes with the step, so the moments matter.
      const g = tf.tensor2d(init.map((r, i) => r.map((x, j) => Math.sin(3 * x + t + i - j))));
      ours.update({ a: g });
      theirs.applyGradients([{ name: b.name, tensor: g }]);
      g.dispose();
    }
    const x = a.arraySync();
    const y = b.arraySync();
    expect(x[0]![0]).to.not.be.closeTo(init[0]![0]!, 1e-3);
    // float32 rounding of the bias corrections differs (tfjs keeps β^t as a running product): 1e-5 of a 0.15 move.
    x.forEach((r, i) => r.forEach((v, j) => expect(v).to.be.closeTo(y[i]![j]!, 1e-5)));
    ours.dispose();
    theirs.dispose();
  });
});
