/**
 * The fixed-gate arms: `oracle-gate` acts exactly on the generator's wrong-token labels and refuses data
 * without them; `schedule-matched` applies a recorded mean-α trajectory exactly.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { armRegistry } from '../harness/language/arms/index.js';
import { readAlphaSchedule, scheduledAlpha } from '../harness/language/arms/gate-controls.js';
import type { ArmContext } from '../harness/language/arms/types.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { Rng } from '../harness/engine/rng.js';
import { toTensors } from '../harness/language/train/batches.js';
import { trainLM, viewOf } from '../harness/language/train/trainer.js';
import { parseSuite } from '../harness/suite/define.js';
import { arraysEqual, MICRO_DATA, microSuite, snapshot, tinyModel, useWasm } from './helpers.js';

const data = generateEmbedded({ seed: 5, trainSize: 24, testSize: 2, baseSize: 1, streamSize: 80, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });

function context(over: Partial<ArmContext> = {}): ArmContext {
  const s = microSuite();
  return { model: tinyModel(6), design: { ...s.design, topK: 5, alphaMax: 0.5 }, rng: new Rng(3), feedback: data.train, steps: 4, ...over };
}

/** Trains `steps` steps with an arm on the labelled stream; returns the parameters and the rule's curves. */
async function train(arm: string, over: Partial<ArmContext> = {}, wrongOff = false, steps = 4): Promise<{ params: Record<string, Float32Array>; curves: Record<string, unknown[]> }> {
  const ctx = context({ steps, ...over });
  const rows = packDocs(ctx.model.tokenizer, data.cpt.map(rowToDoc), 32);
  if (wrongOff) rows.wrong.fill(0);
  const rule = armRegistry.get(arm).create(ctx);
  const s = microSuite();
  await trainLM({ model: ctx.model, rows, steps, batchSize: 8, rng: new Rng(4), rule, optim: { ...s.train, totalSteps: steps } });
  const out = { params: snapshot(ctx.model.vars), curves: (await rule.curves?.()) ?? {} };
  rule.dispose?.();
  ctx.model.dispose();
  return out;
}

const same = (a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean => Object.keys(a).every((k) => arraysEqual(a[k]!, b[k]!));

describe('oracle-gate', () => {
  before(useWasm);

  it('moves α_max of the mass to the learner\'s other top-K candidates exactly at the marked tokens and nowhere else', async () => {
    const ctx = context();
    const rows = packDocs(ctx.model.tokenizer, data.cpt.map(rowToDoc), 32);
    // Rows holding marked tokens.
    const marked = Array.from({ length: rows.rows }, (_, r) => r).filter((r) => rows.wrong.subarray(r * 32, (r + 1) * 32).some((w) => w !== 0)).slice(0, 2);
    expect(marked.length).to.equal(2);
    const b = toTensors(selectRows(rows, marked));
    const rule = armRegistry.get('oracle-gate').create(ctx);
    const view = viewOf(ctx.model, b.ids);
    const q = rule.targets(b, 0, view).arraySync() as number[][];
    const logits = view.logits.arraySync() as number[][];
    const targets = b.targets.arraySync() as number[];
    const wrong = b.wrong.arraySync() as number[];
    const V = ctx.model.cfg.vocabSize;
    let checked = 0;
    targets.forEach((w, n) => {
      const row = q[n]!;
      if (wrong[n] === 0) {
        // Unmarked: the one-hot target, exactly.
        row.forEach((x, v) => expect(x).to.equal(v === w ? 1 : 0));
        return;
      }
      // Marked: 1 − α_max on the marked token, α_max spread as the learner's softmax over its top-(K−1) others.
      const others = logits[n]!.map((l, v) => [l, v] as const).filter(([, v]) => v !== w).sort((x, y) => y[0] - x[0]).slice(0, 4);
      const z = others.reduce((s, [l]) => s + Math.exp(l), 0);
      const expected = new Array<number>(V).fill(0);
      expected[w] = 0.5;
      for (const [l, v] of others) expected[v] = (0.5 * Math.exp(l)) / z;
      row.forEach((x, v) => expect(x).to.be.closeTo(expected[v]!, 1e-6));
      checked++;
    });
    expect(checked).to.be.greaterThan(0);
    const d = (await rule.summary?.()) ?? {};
    expect(d.gate_wrong).to.be.closeTo(0.5, 1e-7);
    expect(d.gate_other).to.equal(0);
    rule.dispose?.();
    ctx.model.dispose();
  });

  it('uses only the labels: with every label cleared it trains bitwise as the baseline, with them it does not', async () => {
    const base = (await train('baseline')).params;
    expect(same(base, (await train('oracle-gate', {}, true)).params)).to.equal(true);
    const labelled = await train('oracle-gate');
    expect(same(base, labelled.params)).to.equal(false);
    // The batches held marked tokens, and α was α_max exactly on them.
    expect((labelled.curves.alpha as { alpha: number }[]).some((p) => p.alpha > 0)).to.equal(true);
  });

  it('is refused, with the reason, on data without wrong-token labels', () => {
    const oracle = [{ arm: 'baseline' }, { arm: 'oracle-gate' }];
    expect(() => parseSuite({ ...microSuite(), arms: oracle, data: { ...MICRO_DATA, corruptFraction: 0 } }, 'suite s')).to.throw(
      /arms\.1: 'oracle-gate' reads the generator's labels of wrong tokens \(embedded data with corruptFraction > 0\), but data\.corruptFraction is 0: the stream has no wrong tokens to label; drop this row/,
    );
    const files = { kind: 'files', gsm8kTrain: 'a.jsonl', gsm8kTest: 'b.jsonl', cptStream: 'c.jsonl' };
    expect(() => parseSuite({ ...microSuite(), arms: oracle, data: files }, 'suite s')).to.throw(/but data\.kind is 'files': only the embedded generator labels wrong tokens/);
    expect(() => parseSuite({ ...microSuite(), arms: oracle })).to.not.throw();
  });
});

describe('schedule-matched', () => {
  before(useWasm);

  const record = (alphas: number[]) => ({ file: '/runs/x/cells/v-pretraining/seed-1/cell.json', record: { status: 'completed', curves: { alpha: alphas.map((alpha, step) => ({ step, alpha })) } } });

  it('reads a recorded trajectory and names the file when it has none', () => {
    expect(readAlphaSchedule(record([0.1, 0.2]))).to.deep.equal([0.1, 0.2]);
    expect(() => readAlphaSchedule({ file: 'f.json', record: { curves: {} } })).to.throw(/^f\.json: no curves\.alpha/);
    expect(() => readAlphaSchedule({ file: 'f.json', record: { curves: { alpha: [{ step: 1, alpha: 0.1 }] } } })).to.throw(/f\.json: curves\.alpha\.0 should be \{step: 0/);
    expect(() => armRegistry.get('schedule-matched').create(context())).to.throw(/reads the gate trajectory of a v-pretraining cell, and none was given/);
    // Same length: the recorded value of the same step; otherwise the same fraction of training.
    expect([0, 1, 2, 3].map((s) => scheduledAlpha([1, 2, 3, 4], s, 4))).to.deep.equal([1, 2, 3, 4]);
    expect([0, 1, 2, 3].map((s) => scheduledAlpha([1, 2], s, 4))).to.deep.equal([1, 1, 2, 2]);
  });

  it('applies the recorded α trajectory exactly (a constant α_max schedule is bitwise self-distillation)', async () => {
    const constant = await train('schedule-matched', { reads: record([0.5, 0.5, 0.5, 0.5]) });
    expect(same(constant.params, (await train('self-distill')).params)).to.equal(true);
    const zero = await train('schedule-matched', { reads: record([0, 0, 0, 0]) });
    expect(same(zero.params, (await train('baseline')).params)).to.equal(true);
  });

  it('reproduces the trajectory a v-pretraining cell recorded, step for step', async () => {
    const design = { ...microSuite().design, topK: 5, burnIn: 0, metaEvery: 1, designerLr: 0.05 };
    const vp = await train('v-pretraining', { design }, false, 5);
    const trajectory = vp.curves.alpha as { step: number; alpha: number }[];
    expect(trajectory.map((p) => p.step)).to.deep.equal([0, 1, 2, 3, 4]);
    // The designer moved: the trajectory is not constant.
    expect(new Set(trajectory.map((p) => p.alpha)).size).to.be.greaterThan(1);
    const sm = await train('schedule-matched', { design, reads: { file: 'vp.json', record: JSON.parse(JSON.stringify({ curves: vp.curves })) } }, false, 5);
    expect(sm.curves.alpha).to.deep.equal(trajectory);
  });

  it('applies α to every answer token of a step alike (self-distillation targets at that α)', () => {
    const ctx = context({ reads: record([0.3]), steps: 1 });
    const rows = packDocs(ctx.model.tokenizer, data.cpt.map(rowToDoc), 32);
    const b = toTensors(selectRows(rows, [0, 1]));
    const view = viewOf(ctx.model, b.ids);
    const q = armRegistry.get('schedule-matched').create(ctx).targets(b, 0, view);
    const sd = armRegistry.get('self-distill').create({ ...ctx, design: { ...ctx.design, alphaMax: 0.3 } }).targets(b, 0, view);
    expect(arraysEqual(q.dataSync(), sd.dataSync())).to.equal(true);
    tf.dispose([q, sd]);
    ctx.model.dispose();
  });
});
