import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { DEFAULT_DINO, teacherTargets } from '../harness/vision/dino.js';
import { batchNormRows, headForward } from '../harness/vision/head.js';
import { DinoModel } from '../harness/vision/model.js';
import { clsLogits, hiddenViews, studentLoss, studentLossFromHidden } from '../harness/vision/trainer.js';
import { patchTokens, vitTokens } from '../harness/vision/vit.js';
import { useWasm } from './helpers.js';

const vit = { imageSize: 8, patchSize: 4, channels: 3, width: 8, depth: 2, heads: 2, mlpRatio: 2 };

describe('DINO head options (head.pool, head.norm)', () => {
  before(useWasm);

  it("pool 'mean' feeds the head the mean of the final patch tokens, also from activations below S", () => {
    const rng = new Rng(11);
    const model = DinoModel.init({ vit, head: { hidden: 8, bottleneck: 4, out: 6, pool: 'mean' } }, rng);
    const x = tf.tensor4d(rng.normals(3 * 8 * 8 * 3, 1), [3, 8, 8, 3]);
    const { tokens, B, T } = vitTokens(vit, model.student, x);
    // Independent mean over the 4 patch rows of each image, on the host.
    const pt = patchTokens(tokens, B, T).arraySync() as number[][][];
    const mean = pt.map((rows) => rows[0]!.map((_, j) => rows.reduce((a, r) => a + r[j]!, 0) / rows.length));
    const want = headForward(model.student, tf.tensor2d(mean), 'none');
    expect(tf.max(tf.abs(tf.sub(clsLogits(model, model.student, x), want))).dataSync()[0]).to.be.lessThan(1e-5);
    // The split forward the value estimator uses agrees with the full one.
    const global = tf.tensor4d(rng.normals(4 * 8 * 8 * 3, 1), [4, 8, 8, 3]);
    const targets = teacherTargets(tf.tensor2d(rng.normals(4 * 6, 1), [4, 6]), tf.zeros([6]) as tf.Tensor1D, 0.5);
    const local = tf.zeros([0, 4, 4, 3]) as tf.Tensor4D;
    const full = studentLoss(model, model.student, global, local, targets, 2, DEFAULT_DINO).dataSync()[0]!;
    const split = studentLossFromHidden(model, model.student, hiddenViews(model, model.student, global, 1), undefined, 1, targets, 2, DEFAULT_DINO).dataSync()[0]!;
    expect(split).to.be.closeTo(full, 1e-5 * Math.abs(full));
    model.dispose();
  });

  it("norm 'batch' standardises every hidden unit over the rows (hand-worked column), and changes the logits", () => {
    const x = tf.tensor2d([[1, 10], [2, 10], [3, 13]]);
    const y = batchNormRows(x).arraySync() as number[][];
    // Column 0: mean 2, variance 2/3 → (−1, 0, 1)/√(2/3 + 1e-5); column 1: mean 11, variance 2 → (−1, −1, 2)/√(2 + 1e-5).
    const s0 = Math.sqrt(2 / 3 + 1e-5);
    const s1 = Math.sqrt(2 + 1e-5);
    [[-1 / s0, -1 / s1], [0, -1 / s1], [1 / s0, 2 / s1]].forEach((row, i) => row.forEach((v, j) => expect(y[i]![j]).to.be.closeTo(v, 1e-5)));
    const rng = new Rng(12);
    const model = DinoModel.init({ vit, head: { hidden: 8, bottleneck: 4, out: 6, norm: 'batch' } }, rng);
    const f = tf.tensor2d(rng.normals(5 * 8, 1), [5, 8]);
    const a = headForward(model.student, f, 'batch');
    const b = headForward(model.student, f, 'none');
    expect(tf.max(tf.abs(tf.sub(a, b))).dataSync()[0]).to.be.greaterThan(1e-3);
    model.dispose();
  });
});
