/**
 * An AdamW state saved and continued (train.optimizer 'continued'): a second optimiser restored from the first's
 * state takes exactly the updates the first would have taken, its schedule starting at its own step 0, and the
 * state survives its safetensors file.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { join } from 'node:path';
import { AdamW, type AdamWConfig } from '../harness/optim/adamw.js';
import { loadAdamWState, saveAdamWState } from '../harness/optim/state-file.js';
import { tmp, useWasm } from './helpers.js';

// A constant learning rate, so the continued optimiser's restarted schedule gives the same lr as the original's.
const cfg: AdamWConfig = { lr: 0.05, beta1: 0.9, beta2: 0.99, eps: 1e-8, weightDecay: 0.1, gradClip: 0, warmupSteps: 0, totalSteps: 100, minLrRatio: 1 };
const start = [[1, -2], [0.5, 3]];
const grad = (t: number): tf.Tensor2D => tf.tensor2d([[Math.sin(t), 0.3], [-0.7 * t, Math.cos(2 * t)]]);

function run(opt: AdamW, from: number, to: number): void {
  for (let t = from; t < to; t++) {
    const g = grad(t);
    opt.update({ w: g });
    g.dispose();
  }
}

describe('AdamW state: saved, restored and continued', () => {
  before(useWasm);

  it('continues bit for bit where the saved optimiser left off, and a fresh one does not', () => {
    const a = tf.variable(tf.tensor2d(start));
    const optA = new AdamW(cfg, { w: a });
    run(optA, 0, 5);
    const state = optA.exportState();
    expect(state.updates).to.equal(5);
    const b = tf.variable(a.clone());
    const fresh = tf.variable(a.clone());
    const optB = new AdamW(cfg, { w: b });
    optB.restoreState(state);
    expect(optB.stepCount, 'the schedule restarts at step 0').to.equal(0);
    const optF = new AdamW(cfg, { w: fresh });
    run(optA, 5, 9);
    run(optB, 5, 9);
    run(optF, 5, 9);
    expect(b.arraySync()).to.deep.equal(a.arraySync());
    const gap = Math.max(...(tf.abs(tf.sub(fresh, a)).dataSync() as Float32Array));
    expect(gap, 'zero moments and bias correction from 1 move the weights differently').to.be.above(1e-3);
    for (const o of [optA, optB, optF]) o.dispose();
    tf.dispose([a, b, fresh]);
  });

  it('round-trips through its safetensors file, and refuses a state that does not fit the variables', () => {
    const w = tf.variable(tf.tensor2d(start));
    const opt = new AdamW(cfg, { w });
    run(opt, 0, 3);
    const f = join(tmp('vpt-adamw-state-'), 'optimizer.safetensors');
    saveAdamWState(f, opt.exportState());
    const back = loadAdamWState(f);
    expect(back.updates).to.equal(3);
    expect(Array.from(back.m.w as Float32Array)).to.deep.equal(Array.from(opt.exportState().m.w as Float32Array));
    const other = new AdamW(cfg, { w: tf.variable(tf.zeros([3, 1])) });
    expect(() => other.restoreState(back)).to.throw(/m of w holds 4 values, the variable 3/);
    expect(() => new AdamW(cfg, { u: tf.variable(tf.zeros([2, 2])) }).restoreState(back)).to.throw(/no m for variable u/);
    expect(() => loadAdamWState(join(f, '..', 'missing.safetensors'))).to.throw(/missing.safetensors: no such file/);
    opt.dispose();
  });
});
