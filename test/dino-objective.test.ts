import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { loadVisionData } from '../harness/vision/data/load.js';
import { DinoModel } from '../harness/vision/model.js';
import { drawPatchMask, koleoLoss, maskedPatchLoss } from '../harness/vision/objective.js';
import { dinoModelConfig, stageAugment, stageDino, stageOptim } from '../harness/vision/schema.js';
import { trainDino } from '../harness/vision/trainer.js';
import { useWasm } from './helpers.js';
import { tinyVision } from './vision-helpers.js';

/** Central finite differences of f at every entry of x (float64 host arithmetic around a float32 graph). */
function numericGrad(f: (x: tf.Tensor2D) => tf.Scalar, x: number[], shape: [number, number], h = 1e-2): number[] {
  return x.map((_, i) => {
    const at = (d: number): number => tf.tidy(() => f(tf.tensor2d(x.map((v, j) => (j === i ? v + d : v)), shape)).dataSync()[0]!);
    return (at(h) - at(-h)) / (2 * h);
  });
}

describe('DINOv2 objective terms (iBOT patch loss, KoLeo)', () => {
  before(useWasm);

  it('KoLeo equals −mean log nearest-neighbour distance of a hand-worked case and its gradient matches finite differences', () => {
    // Unit rows at angles 0, 0.5, 2 rad: neighbours 0↔1, 1↔0, 2↔1; chord length 2·sin(Δ/2).
    const rows = [0, 0.5, 2].map((a) => [Math.cos(a), Math.sin(a)]);
    const d = [2 * Math.sin(0.25), 2 * Math.sin(0.25), 2 * Math.sin(0.75)];
    const want = -d.reduce((a, x) => a + Math.log(x), 0) / 3;
    expect(koleoLoss(tf.tensor2d(rows)).dataSync()[0]).to.be.closeTo(want, 1e-5);
    const rng = new Rng(3);
    const x = Array.from(rng.normals(5 * 3, 1));
    const g = tf.grad((t: tf.Tensor) => koleoLoss(t as tf.Tensor2D))(tf.tensor2d(x, [5, 3])).dataSync();
    const num = numericGrad((t) => koleoLoss(t), x, [5, 3], 1e-3);
    num.forEach((v, i) => expect(g[i]).to.be.closeTo(v, 2e-2 * Math.max(1, Math.abs(v))));
  });

  it('the masked-patch loss is the mean cross-entropy over tokens and its gradient matches finite differences', () => {
    const rng = new Rng(5);
    const s = Array.from(rng.normals(4 * 6, 1));
    const q = tf.softmax(tf.tensor2d(rng.normals(4 * 6, 1), [4, 6])) as tf.Tensor2D;
    const qa = q.arraySync();
    const tau = 0.5;
    let want = 0;
    for (let r = 0; r < 4; r++) {
      const row = s.slice(r * 6, r * 6 + 6).map((v) => v / tau);
      const m = Math.max(...row);
      const z = Math.log(row.reduce((a, v) => a + Math.exp(v - m), 0)) + m;
      want -= row.reduce((a, v, k) => a + qa[r]![k]! * (v - z), 0) / 4;
    }
    expect(maskedPatchLoss(tf.tensor2d(s, [4, 6]), q, tau).dataSync()[0]).to.be.closeTo(want, 1e-5);
    const g = tf.grad((t: tf.Tensor) => maskedPatchLoss(t as tf.Tensor2D, q, tau))(tf.tensor2d(s, [4, 6])).dataSync();
    const num = numericGrad((t) => maskedPatchLoss(t, q, tau), s, [4, 6]);
    num.forEach((v, i) => expect(g[i]).to.be.closeTo(v, 1e-2));
  });

  it('masks blank the requested share of a masked view and name the matching token rows', () => {
    const m = drawPatchMask(6, 16, 1, [0.25, 0.25], new Rng(2));
    for (let v = 0; v < 6; v++) expect(m.mask.slice(v * 16, v * 16 + 16).reduce((a, x) => a + x, 0)).to.equal(4);
    expect(m.rows).to.have.length(24);
    for (const r of m.rows) expect(m.mask[Math.floor(r / 17) * 16 + (r % 17) - 1]).to.equal(1);
    expect(drawPatchMask(4, 16, 0, [0.1, 0.5], new Rng(2)).rows.length).to.be.greaterThan(0);
  });

  it('training with both terms on is deterministic, moves the loss off plain DINO and keeps tensors flat', () => {
    const cfg = tinyVision();
    const data = loadVisionData(cfg.data, cfg.model.imageSize);
    const pool = { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images };
    const run = (dino: Record<string, number>): { losses: number[]; counts: number[] } => {
      const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(1));
      const s = { ...cfg.train, steps: 5 };
      const counts: number[] = [];
      const losses: number[] = [];
      trainDino({
        model, pool, steps: 5, batchSize: 4, optim: stageOptim(s), dino: { ...stageDino(s), ...dino }, augment: stageAugment(s, cfg.model), rng: new Rng(2), logEvery: 1,
        onLog: (p) => { counts.push(tf.memory().numTensors); losses.push(p.loss); },
      });
      model.dispose();
      return { losses, counts };
    };
    const a = run({ ibotWeight: 1, koleoWeight: 0.1 });
    const b = run({ ibotWeight: 1, koleoWeight: 0.1 });
    const plain = run({});
    expect(a.losses).to.deep.equal(b.losses);
    expect(a.losses.every(Number.isFinite)).to.equal(true);
    expect(a.losses[0]).to.not.equal(plain.losses[0]);
    expect(a.counts[a.counts.length - 1]).to.equal(a.counts[1]);
  });
});
