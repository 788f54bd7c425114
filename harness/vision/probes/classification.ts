/**
 * Linear classification probe (DINOv2's linear eval, scaled down): the CLS token, optionally concatenated with
 * the mean patch token, BatchNorm, one linear layer, full-batch cross-entropy; learning rate chosen on
 * validation top-1, test top-1 reported.
 */
import * as tf from '@tensorflow/tfjs';
import type { VisionSplit } from '../data/types.js';
import { linear } from '../../engine/ops.js';
import { columnStats, standardize, type FeatureCache, type Features } from './features.js';
import { chooseLearningRate, disposeHead, fitLinearHead, type LinearHead } from './linear-head.js';
import { top1Metric } from './metrics.js';
import type { ProbeConfig } from './config.js';
import type { ProbeOutcome, ProbeSplits } from './segmentation.js';

/** [CLS ‖ mean patch] (or CLS alone) rows [n, D or 2D]. */
export function imageFeatures(f: Features, useMeanPatch: boolean): { x: Float32Array; dim: number } {
  if (!useMeanPatch) return { x: f.cls, dim: f.dim };
  const D = f.dim;
  const P = f.grid * f.grid;
  const x = new Float32Array(f.n * 2 * D);
  for (let i = 0; i < f.n; i++) {
    x.set(f.cls.subarray(i * D, (i + 1) * D), i * 2 * D);
    for (let t = 0; t < P; t++) for (let d = 0; d < D; d++) x[i * 2 * D + D + d]! += (f.patch[(i * P + t) * D + d] as number) / P;
  }
  return { x, dim: 2 * D };
}

function needLabels(s: VisionSplit, what: string): Int32Array {
  if (!s.labels) throw new Error(`classification probe: the ${what} split has no image labels`);
  return s.labels;
}

export function classificationProbe(cache: FeatureCache, splits: ProbeSplits, numClasses: number, cfg: ProbeConfig): ProbeOutcome {
  const C = numClasses;
  const feats = (s: VisionSplit) => imageFeatures(cache.get(s), cfg.useMeanPatch);
  const train = feats(splits.train);
  const stats = columnStats(train.x, train.dim);
  const xTrain = tf.tensor2d(standardize(train.x, stats), [splits.train.n, train.dim]);
  const labels = needLabels(splits.train, 'train');
  for (let i = 0; i < labels.length; i++) {
    const v = labels[i] as number;
    if (v < 0 || v >= C) throw new Error(`classification probe: label ${v} of ${splits.train.ids[i]} is outside [0, ${C})`);
  }
  const yTrain = tf.tidy(() => tf.oneHot(tf.tensor1d(labels, 'int32'), C));
  const predict = (s: VisionSplit, head: LinearHead): Int32Array => {
    const f = feats(s);
    const p = tf.tidy(() => tf.argMax(linear(tf.tensor2d(standardize(f.x, stats), [s.n, f.dim]), head.w, head.b), 1));
    const out = p.dataSync() as Int32Array;
    p.dispose();
    return out;
  };
  const accuracy = (s: VisionSplit, head: LinearHead): number => {
    const p = predict(s, head);
    const gold = needLabels(s, 'validation');
    let hit = 0;
    for (let i = 0; i < s.n; i++) if (p[i] === gold[i]) hit++;
    return hit / s.n;
  };
  try {
    const choice = chooseLearningRate(
      cfg.lrGrid,
      (lr) => fitLinearHead(train.dim, C, 1, cfg.classificationSteps, lr, (_i, head) =>
        tf.losses.softmaxCrossEntropy(yTrain, linear(xTrain, head.w, head.b)) as tf.Scalar),
      (head) => accuracy(splits.validation, head),
      true,
      disposeHead,
    );
    const metrics = top1Metric(predict(splits.test, choice.fit), needLabels(splits.test, 'test'));
    disposeHead(choice.fit);
    return { metrics, lr: choice.lr, validation: choice.validation };
  } finally {
    xTrain.dispose();
    yTrain.dispose();
  }
}
