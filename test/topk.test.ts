import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { mixWeights, scatterCandidates, topKCandidates } from '../harness/language/arms/topk.js';
import { useWasm } from './helpers.js';

describe('top-K candidate sets and soft targets (hand-worked case)', () => {
  before(useWasm);
  // Vocabulary of 5; row 0's true token (1) is not in the learner's top-2, row 1's (0) is the argmax.
  const logits = tf.tensor2d([[0, 1, 5, 3, 4], [9, 2, 8, 1, 0]]);
  const targets = tf.tensor1d([1, 0], 'int32');

  it('is the true token plus the top-(K−1) others, true token first and never repeated', () => {
    const c = topKCandidates(logits, targets, 3);
    expect(c.ids.arraySync()).to.deep.equal([[1, 2, 4], [0, 2, 1]]);
    expect(c.logits.arraySync()).to.deep.equal([[1, 5, 4], [9, 8, 2]]);
  });

  it('builds q = (1−α)·onehot + α·r on the candidates (uniform r)', () => {
    const c = topKCandidates(logits, targets, 3);
    const q = scatterCandidates(c.ids, mixWeights(0.5, tf.fill([2, 3], 1 / 3) as tf.Tensor2D), 5).arraySync();
    const a = 0.5;
    const expected = [[0, 1 - a + a / 3, a / 3, 0, a / 3], [1 - a + a / 3, a / 3, a / 3, 0, 0]];
    for (let i = 0; i < 2; i++) for (let j = 0; j < 5; j++) expect(q[i]![j]).to.be.closeTo(expected[i]![j]!, 1e-6);
  });

  it('uses per-row gates and gives one-hot exactly at α = 0', () => {
    const c = topKCandidates(logits, targets, 3);
    const r = tf.softmax(c.logits) as tf.Tensor2D;
    const q = scatterCandidates(c.ids, mixWeights(tf.tensor1d([0, 0.5]), r), 5).arraySync();
    expect(q[0]).to.deep.equal([0, 1, 0, 0, 0]);
    const p = tf.softmax(tf.tensor1d([9, 8, 2])).arraySync() as number[];
    expect(q[1]![0]).to.be.closeTo(0.5 + 0.5 * p[0]!, 1e-6);
    expect(q[1]![2]).to.be.closeTo(0.5 * p[1]!, 1e-6);
    expect(q[1]![1]).to.be.closeTo(0.5 * p[2]!, 1e-6);
  });
});
