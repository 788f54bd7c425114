/**
 * METHOD.md invariants for the vision arms: with the masks switched off (strength 0) a designer arm is bitwise
 * the baseline, meta steps and all; given the views, the learner's update is exactly the plain DINO step;
 * feedback labels reach the learner only through the designer (frozen designer: labels change nothing;
 * learning designer: they do). Plus: tensors stay flat across steps with meta steps, and a masking cell is
 * deterministic per seed and writes its mask previews.
 */
import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decode } from 'fast-png';
import { visionArmRegistry } from '../harness/vision/arms/index.js';
import { loadVisionData, type VisionData } from '../harness/vision/data/load.js';
import { Rng } from '../harness/engine/rng.js';
import { runVisionCell } from '../harness/vision/cell.js';
import { MaskDesignerRule } from '../harness/vision/designer/rule.js';
import { DinoModel } from '../harness/vision/model.js';
import { dinoModelConfig, stageAugment, stageDino, stageOptim, type VisionConfig, type VisionDesignConfig } from '../harness/vision/schema.js';
import { trainDino } from '../harness/vision/trainer.js';
import type { CropBatch, GlobalViews, ViewRule } from '../harness/vision/views.js';
import { arraysEqual, tmp, useWasm } from './helpers.js';
import { tinyVision } from './vision-helpers.js';

const STEPS = 4;
const LIVE: Partial<VisionDesignConfig> = { burnIn: 0, metaEvery: 1, metaBatch: 2, feedbackBatch: 4, headSteps: 5, headRefitSteps: 1, designerLr: 0.05, probeBatches: 0 };

function config(design: Partial<VisionDesignConfig>): VisionConfig {
  const base = tinyVision();
  return { ...base, train: { ...base.train, steps: STEPS }, design: { ...base.design, ...design } };
}

/** Learner state (student, teacher, centre) after STEPS steps of `arm` from a fixed initialisation. */
function train(arm: string, design: Partial<VisionDesignConfig>, data: VisionData, wrap?: (r: ViewRule) => ViewRule): Record<string, Float32Array> {
  const cfg = config(design);
  const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(11));
  const inner = visionArmRegistry.get(arm).create({ model, config: cfg, data, rng: new Rng(3), steps: STEPS });
  const rule = wrap ? wrap(inner) : inner;
  trainDino({
    model, pool: { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images }, steps: STEPS, batchSize: cfg.train.batchSize,
    optim: stageOptim(cfg.train), dino: stageDino(cfg.train), augment: stageAugment(cfg.train, cfg.model), rng: new Rng(4), rule, logEvery: STEPS,
  });
  const out = state(model);
  inner.dispose?.();
  model.dispose();
  return out;
}

function state(model: DinoModel): Record<string, Float32Array> {
  const out: Record<string, Float32Array> = {};
  for (const [k, v] of Object.entries(model.student)) out[`s.${k}`] = v.dataSync() as Float32Array;
  for (const [k, v] of Object.entries(model.teacher)) out[`t.${k}`] = v.dataSync() as Float32Array;
  out.center = model.center.dataSync() as Float32Array;
  return out;
}

function same(a: Record<string, Float32Array>, b: Record<string, Float32Array>): boolean {
  return Object.keys(a).every((k) => arraysEqual(a[k]!, b[k]!));
}

/** The same feedback images with every label changed: classes shifted, depths mirrored. */
function withWrongLabels(d: VisionData): VisionData {
  const fb = d.feedback.segmentation!;
  const C = d.info.segClasses;
  const wrong = {
    ...fb,
    seg: fb.seg!.map((v) => (v === 255 ? v : (v + 1) % C)),
    depth: fb.depth!.map((v) => (v > 0 ? d.info.maxDepth + 0.5 - v : 0)),
  };
  return { ...d, feedback: { segmentation: wrong, depth: wrong } };
}

describe('vision V-pretraining invariants', () => {
  let data: VisionData;
  before(async () => {
    await useWasm();
    const cfg = tinyVision();
    data = loadVisionData(cfg.data, cfg.model.imageSize);
  });

  it('with mask strength 0 a designer arm is bitwise the baseline (meta steps running); with masks it is not', () => {
    const base = train('baseline', {}, data);
    expect(same(base, train('v-pretraining', { ...LIVE, maskStrength: 0 }, data))).to.equal(true);
    expect(same(base, train('random-masks', { maskStrength: 0 }, data))).to.equal(true);
    expect(same(base, train('v-pretraining', LIVE, data))).to.equal(false);
  });

  it('given the views, the learner update is the plain DINO step on them', () => {
    const seen: { student: Float32Array; teacher: Float32Array; shape: [number, number, number, number] }[] = [];
    const recording = (r: ViewRule): ViewRule => ({
      ...r,
      beforeStep: (c: CropBatch, s: number) => r.beforeStep?.(c, s),
      views: (c: CropBatch, s: number): GlobalViews => {
        const v = r.views(c, s);
        seen.push({ student: v.student.dataSync() as Float32Array, teacher: v.teacher.dataSync() as Float32Array, shape: v.student.shape });
        return v;
      },
    });
    const designed = train('v-pretraining', LIVE, data, recording);
    // The masks really changed the student's views (and only the student's).
    expect(seen.some((v) => !arraysEqual(v.student, v.teacher))).to.equal(true);
    let k = 0;
    const replay: ViewRule = {
      views: () => {
        const v = seen[k++]!;
        return { student: tf.tensor4d(v.student, v.shape), teacher: tf.tensor4d(v.teacher, v.shape) };
      },
    };
    const replayed = train('baseline', {}, data, () => replay);
    expect(k).to.equal(STEPS);
    expect(same(designed, replayed)).to.equal(true);
  });

  it('with the designer frozen, changed feedback labels change nothing in the learner', () => {
    const frozen = { ...LIVE, designerLr: 0 };
    expect(same(train('v-pretraining', frozen, data), train('v-pretraining', frozen, withWrongLabels(data)))).to.equal(true);
  });

  it('with the designer learning, feedback labels reach the learner (through the masks only)', () => {
    expect(same(train('v-pretraining', LIVE, data), train('v-pretraining', LIVE, withWrongLabels(data)))).to.equal(false);
  });

  it('keeps the tensor count flat across learner and meta steps', () => {
    const cfg = config({ ...LIVE, metaEvery: 2 });
    const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(11));
    const rule = visionArmRegistry.get('v-pretraining').create({ model, config: cfg, data, rng: new Rng(3), steps: 12 });
    const counts: number[] = [];
    trainDino({
      model, pool: { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images }, steps: 12, batchSize: cfg.train.batchSize,
      optim: stageOptim(cfg.train), dino: stageDino(cfg.train), augment: stageAugment(cfg.train, cfg.model), rng: new Rng(4), rule, logEvery: 1,
      onLog: () => counts.push(tf.memory().numTensors),
    });
    // From the second meta step on (optimiser slots and the heads exist by then), every step ends level.
    expect(new Set(counts.slice(3)).size, counts.join(' ')).to.equal(1);
    expect((rule as MaskDesignerRule).curve).to.have.length(6);
    const before = tf.memory().numTensors;
    rule.dispose?.();
    model.dispose();
    expect(tf.memory().numTensors).to.be.lessThan(before);
  });

  it('a masking cell is deterministic per seed, records designer diagnostics and writes mask previews', () => {
    const cfg = config({ ...LIVE, metaEvery: 2, previewImages: 3 });
    const cache = tmp();
    const arm = visionArmRegistry.get('v-pretraining');
    const run = (seed: number, dir: string) => runVisionCell(cfg, seed, data, cache, {
      rule: (model, rng, extras) => arm.create({ model, config: cfg, data, rng, steps: STEPS, ...extras }), outDir: dir,
    });
    const dirA = tmp();
    const a = run(1, dirA);
    const b = run(1, tmp());
    const c = run(2, tmp());
    expect(a.eval.metrics).to.deep.equal(b.eval.metrics);
    expect(a.train.curve).to.deep.equal(b.train.curve);
    const untimed = (d: Record<string, number>) => Object.fromEntries(Object.entries(d).filter(([k]) => !k.endsWith('_ms') && !k.includes('_ms_')));
    expect(untimed(a.diagnostics)).to.deep.equal(untimed(b.diagnostics));
    expect(c.train.curve).to.not.deep.equal(a.train.curve);
    for (const k of ['value_mean', 'keep_ratio', 'mask_entropy', 'mask_tv', 'meta_ms_mean']) expect(a.diagnostics[k], k).to.be.a('number').and.satisfy(Number.isFinite);
    expect(a.diagnostics.meta_steps).to.equal(2);
    expect(a.previews).to.deep.equal(['masks-initial.png', 'masks-final.png']);
    for (const f of a.previews) {
      expect(existsSync(join(dirA, f))).to.equal(true);
      const png = decode(readFileSync(join(dirA, f)));
      // 3 rows (images) of 3 panels, each 16 px enlarged 4×, 2 px gaps.
      expect([png.width, png.height]).to.deep.equal([3 * 64 + 4 * 2, 3 * 64 + 4 * 2]);
    }
  });
});
