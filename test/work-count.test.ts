/**
 * `vpt bench`'s work count: multiply-adds read from profiled matMul kernels equal hand counts, for single kernels
 * (transposed and broadcast operands) and for a GPT's learner step and g_down, counted layer by layer by hand.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { armRegistry } from '../harness/language/arms/index.js';
import { trimPadding } from '../harness/language/arms/feedback.js';
import { countMacs, matMulMacs } from '../harness/bench/work.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, padDocs, selectRows } from '../harness/language/data/pack.js';
import { formatQA } from '../harness/language/data/numina.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { downstreamGrad } from '../harness/language/designer/value.js';
import { matMul2d } from '../harness/engine/ops.js';
import { Rng } from '../harness/engine/rng.js';
import { disposeBatch, toTensors } from '../harness/language/train/batches.js';
import { subsetNames } from '../harness/language/model/gpt.js';
import { AdamW } from '../harness/optim/adamw.js';
import { learnerStep } from '../harness/language/train/trainer.js';
import { microSuite, tinyModel, useWasm } from './helpers.js';

const data = generateEmbedded({ seed: 5, trainSize: 24, testSize: 2, baseSize: 1, streamSize: 60, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });

describe('work count (multiply-adds of matMul kernels)', () => {
  before(useWasm);

  it('counts one kernel as output elements × contracted length, with transposed or broadcast operands', () => {
    const k = (inputShapes: number[][], out: number[], name = 'VptMatMul') => matMulMacs({ name, inputShapes, outputShapes: [out] });
    expect(k([[2, 3], [3, 4]], [2, 4])).to.equal(24);
    // aᵀ·b with a stored [3, 2]: still 2·4 outputs of length 3.
    expect(k([[3, 2], [3, 4]], [2, 4])).to.equal(24);
    expect(k([[5, 2, 3], [3, 4]], [5, 2, 4], 'BatchMatMul')).to.equal(120);
    expect(k([[2, 3], [5, 3, 4]], [5, 2, 4], 'BatchMatMul')).to.equal(120);
    expect(k([[2, 3], [2, 3]], [2, 3], 'Add')).to.equal(0);
  });

  it('reads the same count from a profiled matMul, vpt\'s and tfjs\'s', async () => {
    const a = tf.ones([6, 5]) as tf.Tensor2D;
    const b = tf.ones([5, 7]) as tf.Tensor2D;
    expect(await countMacs(() => matMul2d(a, b).dispose())).to.equal(6 * 5 * 7);
    expect(await countMacs(() => tf.matMul(a, b).dispose())).to.equal(6 * 5 * 7);
    expect(await countMacs(() => tf.add(a, 1).dispose())).to.equal(0);
    tf.dispose([a, b]);
  });

  it('a baseline learner step counts 3× the forward\'s multiply-adds, block by block and the head', async () => {
    const model = tinyModel(3);
    const { nLayer: L, nEmbd: D, vocabSize: V } = model.cfg;
    const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 24);
    const batch = toTensors(selectRows(rows, [0, 1, 2]));
    const [B, T] = batch.ids.shape;
    const N = B * T;
    const rule = armRegistry.get('baseline').create({ model, design: microSuite().design, rng: new Rng(1), feedback: [], steps: 1 });
    const opt = new AdamW({ ...microSuite().train, totalSteps: 1 }, model.vars);
    const counted = await countMacs(() => {
      const r = learnerStep(model, opt, batch, rule, 0);
      tf.dispose([r.loss, r.gradNorm]);
    });
    // Per block: q, k, v, output projection (4·D²) and the MLP (8·D²) per token, q·kᵀ and p·v (2·T·D) per token.
    const forward = L * (12 * D * D * N + 2 * B * T * T * D) + N * D * V;
    expect(counted).to.equal(3 * forward);
    disposeBatch(batch);
    opt.dispose();
    model.dispose();
  });

  it('g_down counts the forward below S once and S (run at the answer rows past its attention) three times', async () => {
    const model = tinyModel(4);
    const { nLayer: L, nEmbd: D, vocabSize: V } = model.cfg;
    const fbRows = padDocs(model.tokenizer, data.train.map((r) => formatQA(r.question, r.answer)));
    const fb = toTensors(trimPadding(selectRows(fbRows, [0, 3, 5, 7])));
    const [B, T] = fb.ids.shape;
    const N = B * T;
    const R = Array.from(fb.mask.dataSync()).filter((m) => m !== 0).length;
    expect(R).to.be.greaterThan(0).and.lessThan(N);
    const s = { from: L - 1, names: subsetNames(model.cfg, 1) };
    const counted = await countMacs(() => {
      const { loss, grads } = downstreamGrad(model, s, fb);
      tf.dispose([loss, ...Object.values(grads)]);
    });
    const block = 12 * D * D * N + 2 * B * T * T * D;
    // S's block: q, k, v and attention over every position, projection, MLP and head at the R answer rows; its
    // backward is 2× (ln1 is in S, so even the q, k, v inputs need their gradient). Below S: forward only.
    const sForward = 3 * D * D * N + 2 * B * T * T * D + 9 * D * D * R + V * D * R;
    expect(counted).to.equal((L - 1) * block + 3 * sForward);
    disposeBatch(fb);
    model.dispose();
  });
});
