import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { dinoLoss, teacherMomentumAt, teacherTargets, updatedCenter } from '../harness/vision/dino.js';
import { useWasm } from './helpers.js';

/** Direct transcription of DINO's DINOLoss.forward (loops over teacher view iq and student view v ≠ iq). */
function referenceLoss(student: number[][], targets: number[][], B: number, nViews: number, tau: number): number {
  const logSoftmax = (row: number[]): number[] => {
    const m = Math.max(...row.map((x) => x / tau));
    const z = Math.log(row.reduce((a, x) => a + Math.exp(x / tau - m), 0)) + m;
    return row.map((x) => x / tau - z);
  };
  let total = 0;
  let terms = 0;
  for (let iq = 0; iq < 2; iq++) for (let v = 0; v < nViews; v++) {
    if (v === iq) continue;
    let mean = 0;
    for (let b = 0; b < B; b++) {
      const lp = logSoftmax(student[v * B + b]!);
      mean += -targets[iq * B + b]!.reduce((a, q, k) => a + q * lp[k]!, 0);
    }
    total += mean / B;
    terms++;
  }
  return total / terms;
}

describe('DINO objective', () => {
  before(useWasm);

  it('the loss equals the pairwise sum over (teacher global view, other student view) of a reference loop', () => {
    const rng = new Rng(4);
    const B = 3;
    const nViews = 5;
    const K = 7;
    const s = tf.tensor2d(rng.normals(nViews * B * K, 1), [nViews * B, K]);
    const t = teacherTargets(tf.tensor2d(rng.normals(2 * B * K, 1), [2 * B, K]), tf.tensor1d(rng.normals(K, 0.3)), 0.04);
    const got = dinoLoss(s, t, B, 0.1).dataSync()[0]!;
    const want = referenceLoss(s.arraySync(), t.arraySync(), B, nViews, 0.1);
    expect(got).to.be.closeTo(want, 1e-4 * Math.abs(want));
  });

  it('teacher targets are softmax((t − c)/τ) and the centre is an EMA of the batch mean', () => {
    const t = tf.tensor2d([[1, 0], [0, 1]]);
    const q = teacherTargets(t, tf.tensor1d([0.5, 0.5]), 0.5).arraySync();
    expect(q[0]![0]).to.be.closeTo(Math.exp(1) / (Math.exp(1) + Math.exp(-1)), 1e-6);
    expect(Array.from(updatedCenter(tf.tensor1d([1, 1]), t, 0.9).dataSync())).to.deep.equal([0.9 + 0.05, 0.9 + 0.05].map((x) => Math.fround(x)));
  });

  it('the teacher momentum follows a cosine from m₀ to 1', () => {
    expect(teacherMomentumAt(0.996, 0, 100)).to.be.closeTo(0.996, 1e-12);
    expect(teacherMomentumAt(0.996, 50, 100)).to.be.closeTo(0.998, 1e-12);
    expect(teacherMomentumAt(0.996, 100, 100)).to.equal(1);
  });
});
