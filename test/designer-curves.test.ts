/**
 * The designer's curves over training: one `curves.designer` point per meta step (V before and after its
 * designer steps, cos(g_down, g_pre), the gate since the previous point, updates so far) plus one after the
 * last update; `curves.alpha` per learner step; `curves.probe` at the probe points. Several designer steps per
 * meta step reuse one D, so each raises V on the meta step's batch.
 */
import { expect } from 'chai';
import { armRegistry } from '../harness/language/arms/index.js';
import type { DesignerPoint, ProbePoint } from '../harness/language/arms/designer-arms.js';
import { generateEmbedded } from '../harness/language/data/synth/embedded.js';
import { packDocs, selectRows } from '../harness/language/data/pack.js';
import { rowToDoc } from '../harness/language/data/sources.js';
import { Rng } from '../harness/engine/rng.js';
import { trainLM } from '../harness/language/train/trainer.js';
import { microSuite, tinyModel, useWasm } from './helpers.js';

describe('designer curves', () => {
  before(useWasm);

  it('are recorded at every meta step, per learner step and at the probe points', async () => {
    const model = tinyModel(2);
    const d = generateEmbedded({ seed: 3, trainSize: 16, testSize: 2, baseSize: 1, streamSize: 80, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });
    const rows = packDocs(model.tokenizer, d.cpt.map(rowToDoc), 32);
    const s = microSuite();
    const design = { ...s.design, burnIn: 1, metaEvery: 2, designerSteps: 3, designerLr: 1e-4, probeBatches: 5, probePoints: 2 };
    const probeRows = selectRows(rows, Array.from({ length: 10 }, (_, i) => rows.rows - 1 - i));
    const rule = armRegistry.get('v-pretraining').create({ model, design, rng: new Rng(1), feedback: d.train, steps: 7, probeRows });
    await trainLM({ model, rows, steps: 7, batchSize: 4, rng: new Rng(2), rule, logEvery: 3, optim: { ...s.train, totalSteps: 7 } });
    const summary = (await rule.summary?.()) ?? {};
    const curves = (await rule.curves?.()) ?? {};
    const points = curves.designer as DesignerPoint[];
    // Meta steps at 1, 3, 5 (burn-in 1, every 2), then the final point after step 6.
    expect(points.map((p) => p.step)).to.deep.equal([1, 3, 5, 7]);
    expect(points.map((p) => p.updates)).to.deep.equal([3, 6, 9, 9]);
    expect(summary.designer_updates).to.equal(9);
    expect(summary.meta_steps).to.equal(3);
    for (const p of points.slice(0, 3)) {
      // A small Adam step on V with D fixed raises V on that batch.
      expect(p.valueAfter as number).to.be.greaterThan(p.value as number);
      expect(Math.abs(p.cos as number)).to.be.at.most(1);
      for (const g of [p.gate, p.gateOther]) expect(g).to.be.within(0, 0.5);
    }
    const last = points[3]!;
    expect([last.value, last.valueAfter, last.cos]).to.deep.equal([null, null, null]);
    // Per learner step: mean α over answer tokens, steps 0..6; the windows average those steps.
    const alpha = curves.alpha as { step: number; alpha: number }[];
    expect(alpha.map((p) => p.step)).to.deep.equal([0, 1, 2, 3, 4, 5, 6]);
    expect(points[0]!.gate).to.be.closeTo(alpha[0]!.alpha, 1e-6);
    expect(summary.gate_mean).to.be.within(0, 0.5);
    // Probe points after steps 3 and 6, at the size of the learner's update then.
    const probes = curves.probe as ProbePoint[];
    expect(probes.map((p) => p.step)).to.deep.equal([3, 6]);
    for (const p of probes) {
      expect(p.updateNorm).to.be.greaterThan(0);
      expect(p.predicted).to.have.length(5);
      expect(Number.isFinite(p.r) && Number.isFinite(p.rFirstOrder)).to.equal(true);
    }
    expect(summary.probe_r).to.equal(probes[1]!.r);
    expect(summary.measure_ms).to.be.greaterThan(0);
    rule.dispose?.();
    model.dispose();
  });

  it('reports no probe r with fewer than 5 probe batches', async () => {
    const model = tinyModel(2);
    const d = generateEmbedded({ seed: 3, trainSize: 16, testSize: 2, baseSize: 1, streamSize: 60, relevantFraction: 0.7, corruptFraction: 0.3, leakFraction: 0 });
    const rows = packDocs(model.tokenizer, d.cpt.map(rowToDoc), 32);
    const s = microSuite();
    const rule = armRegistry.get('v-pretraining').create({
      model, design: { ...s.design, probeBatches: 4, probePoints: 2 }, rng: new Rng(1), feedback: d.train, steps: 4, probeRows: selectRows(rows, [0, 1, 2, 3, 4, 5, 6, 7]),
    });
    await trainLM({ model, rows, steps: 4, batchSize: 2, rng: new Rng(2), rule, optim: { ...s.train, totalSteps: 4 } });
    expect(Number.isNaN((await rule.summary?.())?.probe_r)).to.equal(true);
    expect((await rule.curves?.())?.probe).to.equal(undefined);
    rule.dispose?.();
    model.dispose();
  });
});
