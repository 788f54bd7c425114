/**
 * The designer options for a fair test of the designer (issue 24): r over C_t without w_t puts no mass on w_t; an
 * initial true-token bonus starts r away from (or towards) w_t; the gate's learner features and the labels-as-feature
 * diagnostic change α as they should and start neutral; the options leave the paper designer's initial draws as they
 * were; the labels-as-feature designer refuses data without labels; fresh feedback draws a batch per designer step.
 * The torch engine's agreement with these options is in torch-agreement.test.ts (row vp-options).
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { armRegistry } from '../harness/language/arms/index.js';
import { topKCandidates } from '../harness/language/arms/topk.js';
import type { ArmContext } from '../harness/language/arms/types.js';
import { LmDesigner, type DesignerShape } from '../harness/language/designer/lm-designer.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, padDocs, selectRows } from '../harness/language/data/pack.js';
import { formatQA } from '../harness/language/data/numina.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { drawCell } from '../harness/language/draws.js';
import { Rng } from '../harness/engine/rng.js';
import { rowLogSumExp } from '../harness/engine/ops.js';
import { toTensors } from '../harness/language/train/batches.js';
import { trainLM, viewOf } from '../harness/language/train/trainer.js';
import { parseSuite } from '../harness/suite/define.js';
import type { DesignConfig } from '../harness/language/schema.js';
import { MICRO_DATA, microSuite, tinyModel, useWasm } from './helpers.js';

const data = generateEmbedded({ seed: 5, trainSize: 24, testSize: 2, baseSize: 1, streamSize: 80, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });

describe('designer options (issue 24)', () => {
  before(useWasm);

  /** The designer's output on two stream rows of a tiny learner, for a shape with `over`. */
  function outputs(over: Partial<DesignerShape>, gate: { entropy?: number; wrong?: number } = {}, set?: (d: LmDesigner) => void) {
    const model = tinyModel(6);
    const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
    const b = toTensors(selectRows(rows, [0, 1]));
    const shape: DesignerShape = { vocabSize: model.cfg.vocabSize, blockSize: 32, width: 16, layers: 1, heads: 2, alphaMax: 0.5, ...over };
    const designer = new LmDesigner(shape, new Rng(11));
    set?.(designer);
    const out = tf.tidy(() => {
      const view = viewOf(model, b.ids);
      const c = topKCandidates(view.logits, b.targets, 5);
      const logp = tf.sub(c.logits, rowLogSumExp(view.logits)) as tf.Tensor2D;
      const N = b.targets.shape[0];
      const o = designer.apply(designer.vars, b.ids, b.targets, c, logp, {
        ...(gate.entropy !== undefined ? { entropy: tf.fill([N], gate.entropy) as tf.Tensor1D } : {}),
        ...(gate.wrong !== undefined ? { wrong: tf.tensor1d(Array.from({ length: N }, (_, n) => (n % 2 === 0 ? gate.wrong! : 0))) } : {}),
      });
      return { r: o.r.arraySync() as number[][], weights: o.weights.arraySync() as number[][], alpha: o.alpha.arraySync() as number[] };
    });
    const vars = Object.fromEntries(Object.entries(designer.vars).map(([k, v]) => [k, Array.from(v.dataSync())]));
    designer.dispose();
    model.dispose();
    return { ...out, vars };
  }

  it("r over the other candidates puts no mass on w_t: q(w_t) = 1 − α exactly", () => {
    const o = outputs({ rSupport: 'others' });
    o.r.forEach((row, n) => {
      expect(row[0]).to.equal(0);
      expect(row.reduce((a, x) => a + x, 0)).to.be.closeTo(1, 1e-6);
      expect(o.weights[n]![0]).to.be.closeTo(1 - o.alpha[n]!, 1e-6);
    });
    // The paper's r spans C_t and gives w_t some mass.
    expect(outputs({}).r.every((row) => row[0]! > 0)).to.equal(true);
  });

  it('a negative initial true-token bonus starts r away from w_t; the options leave the paper designer\'s draws as they were', () => {
    const paper = outputs({});
    const away = outputs({ trueScoreInit: -3 });
    expect(away.vars['score.true']).to.deep.equal([-3]);
    away.r.forEach((row, n) => expect(row[0]).to.be.closeTo(paper.r[n]![0]! * Math.exp(-3) / (1 - paper.r[n]![0]! + paper.r[n]![0]! * Math.exp(-3)), 1e-6));
    const all = outputs({ gateFeatures: true, labelFeature: true, rSupport: 'others' }, { entropy: 1, wrong: 1 });
    for (const [k, v] of Object.entries(paper.vars)) expect(all.vars[k], k).to.deep.equal(v);
    expect(Object.keys(all.vars).filter((k) => !(k in paper.vars)).sort()).to.deep.equal(['gate.feat', 'gate.label']);
  });

  it("the gate's learner features move α; the label feature starts neutral and, once weighted, raises α on labelled tokens only", () => {
    const low = outputs({ gateFeatures: true }, { entropy: 0 });
    const high = outputs({ gateFeatures: true }, { entropy: 50 });
    expect(high.alpha.some((a, n) => Math.abs(a - low.alpha[n]!) > 1e-4)).to.equal(true);
    const plain = outputs({});
    const neutral = outputs({ labelFeature: true }, { wrong: 1 });
    neutral.alpha.forEach((a, n) => expect(a).to.be.closeTo(plain.alpha[n]!, 1e-7));
    const weighted = outputs({ labelFeature: true }, { wrong: 1 }, (d) => d.vars['gate.label']!.assign(tf.scalar(4)));
    weighted.alpha.forEach((a, n) => (n % 2 === 0 ? expect(a).to.be.greaterThan(plain.alpha[n]! + 0.1) : expect(a).to.be.closeTo(plain.alpha[n]!, 1e-7)));
    expect(() => outputs({ labelFeature: true })).to.throw('the labels-as-feature designer needs the wrong-token labels');
  });

  it('the labels-as-feature designer refuses data without labels, naming the key', () => {
    const vp = [{ arm: 'baseline' }, { arm: 'v-pretraining', design: { labelFeature: true } }];
    expect(() => parseSuite({ ...microSuite(), arms: vp, data: { ...MICRO_DATA, corruptFraction: 0 } }, 'suite s')).to.throw(
      /arms\.1\.design\.labelFeature: the labels-as-feature designer reads the generator's labels of wrong tokens \(embedded data with corruptFraction > 0\), but data\.corruptFraction is 0/,
    );
    const files = { kind: 'files', gsm8kTrain: 'a.jsonl', gsm8kTest: 'b.jsonl', cptStream: 'c.jsonl' };
    expect(() => parseSuite({ ...microSuite(), arms: [{ arm: 'v-pretraining' }], design: { ...microSuite().design, labelFeature: true }, data: files }, 'suite s'))
      .to.throw(/design\.labelFeature: .*but data\.kind is 'files'/);
    expect(() => parseSuite({ ...microSuite(), arms: vp })).to.not.throw();
    expect(() => parseSuite({ ...microSuite(), arms: [{ arm: 'v-pretraining', design: { designerWidth: 30, designerHeads: 4 } }] }, 'suite s'))
      .to.throw(/arms\.0\.design\.designerHeads: 4 does not divide designerWidth 30/);
  });

  it('fresh feedback draws a batch for every designer step and trains on all of them, leaking no tensor', async () => {
    const s = microSuite();
    const model = tinyModel(6);
    const design: DesignConfig = { ...s.design, topK: 5, metaEvery: 2, burnIn: 0, designerSteps: 3, freshFeedback: true, feedbackBatch: 4, probeBatches: 0 };
    const feedbackRows = padDocs(model.tokenizer, data.train.map((x) => formatQA(x.question, x.answer)));
    const rows = packDocs(model.tokenizer, data.cpt.map(rowToDoc), 32);
    const steps = 4;
    const draws = drawCell({
      rng: new Rng(9), trainRows: rows.rows, batchSize: 4, steps, design,
      designer: { feedbackRows, feedback: 'true', probing: false, eosId: model.tokenizer.eosId, blockSize: model.cfg.blockSize },
    });
    // Meta steps at 0 and 2, three designer steps each.
    expect(draws.arm!.feedback).to.have.length(6);
    expect(new Set(draws.arm!.feedback.map((x) => x.join())).size).to.be.greaterThan(1);
    // Every option at once, so the leak check below covers their tensors too.
    const all: DesignConfig = { ...design, rSupport: 'others', gateFeatures: true, labelFeature: true };
    const ctx: ArmContext = { model, design: all, rng: new Rng(3), feedback: data.train, steps, feedbackRows, draws: draws.arm! };
    const before = tf.memory().numTensors;
    const rule = armRegistry.get('v-pretraining').create(ctx);
    await trainLM({ model, rows, steps, batchSize: 4, rng: new Rng(4), rule, optim: { ...s.train, totalSteps: steps } });
    const d = (await rule.summary?.()) ?? {};
    expect(d.designer_updates).to.equal(6);
    expect(d.meta_steps).to.equal(2);
    // α on the meta steps' own batches is recorded beside α over all batches.
    expect(d.gate_other_meta).to.be.a('number').and.satisfy(Number.isFinite);
    await rule.curves?.();
    rule.dispose?.();
    // No tensor outlives the rule (g_down, D and the candidates of every fresh batch included).
    expect(tf.memory().numTensors).to.equal(before);
    model.dispose();
  });
});
