/**
 * Linear segmentation probe (DINOv2's "linear" protocol, scaled down): BatchNorm on the frozen patch tokens,
 * then a 1×1 linear layer to class logits on the token grid, resized bilinearly to the label size, trained with
 * pixel cross-entropy that skips the ignore label. Learning rate chosen on validation mIoU; test mIoU reported.
 * With a frozen backbone BatchNorm's statistics are the probe-train features' mean and variance; its affine
 * part is absorbed by the linear layer that follows.
 */
import * as tf from '@tensorflow/tfjs';
import { IGNORE_LABEL, type VisionSplit } from '../data/types.js';
import { linear } from '../../engine/ops.js';
import type { MetricValue } from '../../results/schema.js';
import { columnStats, standardize, type FeatureCache, type Features } from './features.js';
import { batchRanges, chooseLearningRate, disposeHead, fitLinearHead, type LinearHead } from './linear-head.js';
import { segmentationCounts, segmentationMetrics, segmentationScores } from './metrics.js';
import type { ProbeConfig } from './config.js';
import { upsampleBilinear } from './upsample.js';

export interface ProbeSplits {
  train: VisionSplit;
  validation: VisionSplit;
  test: VisionSplit;
}

export interface ProbeOutcome {
  metrics: Record<string, MetricValue>;
  /** Chosen learning rate (ridge strength for the depth probe) and every grid point's validation score. */
  lr: number;
  validation: Record<string, number>;
}

interface Prepared {
  x: Float32Array;
  split: VisionSplit;
  f: Features;
}

function needSeg(s: VisionSplit, what: string): Uint8Array {
  if (!s.seg) throw new Error(`segmentation probe: the ${what} split has no segmentation maps`);
  return s.seg;
}

/** Logits [m, L, L, C] for images [a, b) of a prepared split. */
function logitsFor(p: Prepared, a: number, b: number, head: LinearHead, C: number): tf.Tensor4D {
  const { dim: D, grid: g } = p.f;
  const P = g * g;
  const x = tf.tensor2d(p.x.subarray(a * P * D, b * P * D), [(b - a) * P, D]);
  const z = linear(x, head.w, head.b);
  return upsampleBilinear(z.reshape([b - a, g, g, C]) as tf.Tensor4D, p.split.labelSize);
}

/** Predicted classes [n, L, L] of a prepared split. */
function predict(p: Prepared, head: LinearHead, C: number, batchImages: number): Uint8Array {
  const L = p.split.labelSize;
  const out = new Uint8Array(p.split.n * L * L);
  for (const [a, b] of batchRanges(p.split.n, batchImages)) {
    const cls = tf.tidy(() => tf.argMax(logitsFor(p, a, b, head, C), 3));
    out.set(cls.dataSync(), a * L * L);
    cls.dispose();
  }
  return out;
}

export function segmentationProbe(cache: FeatureCache, splits: ProbeSplits, numClasses: number, cfg: ProbeConfig): ProbeOutcome {
  const C = numClasses;
  const trainF = cache.get(splits.train);
  const stats = columnStats(trainF.patch, trainF.dim);
  const prep = (s: VisionSplit): Prepared => {
    const f = cache.get(s);
    return { x: standardize(f.patch, stats), split: s, f };
  };
  const train = prep(splits.train);
  const val = prep(splits.validation);
  const test = prep(splits.test);
  const L = splits.train.labelSize;
  const trainSeg = needSeg(splits.train, 'train');
  const ranges = batchRanges(splits.train.n, cfg.batchImages);
  // Labels and masks per minibatch, built once for the whole grid.
  const targets = ranges.map(([a, b]) => {
    const lab = trainSeg.subarray(a * L * L, b * L * L);
    const ids = new Int32Array(lab.length);
    const mask = new Float32Array(lab.length);
    for (let i = 0; i < lab.length; i++) {
      const v = lab[i] as number;
      if (v !== IGNORE_LABEL) {
        if (v >= C) throw new Error(`segmentation probe: class ${v} in ${splits.train.ids[a + Math.floor(i / (L * L))]} is outside [0, ${C})`);
        ids[i] = v;
        mask[i] = 1;
      }
    }
    return { ids: tf.tensor1d(ids, 'int32'), mask: tf.tensor1d(mask), valid: Math.max(1, mask.reduce((s, v) => s + v, 0)) };
  });
  const steps = cfg.segmentationSteps;
  const scoreOn = (p: Prepared, head: LinearHead) => segmentationCounts(predict(p, head, C, cfg.batchImages), needSeg(p.split, 'evaluation'), p.split.n, L * L, C);
  try {
    const choice = chooseLearningRate(
      cfg.lrGrid,
      (lr) => fitLinearHead(trainF.dim, C, ranges.length, steps, lr, (i, head) => {
        const [a, b] = ranges[i] as [number, number];
        const t = targets[i] as { ids: tf.Tensor1D; mask: tf.Tensor1D; valid: number };
        const logp = tf.logSoftmax(logitsFor(train, a, b, head, C).reshape([-1, C]));
        const picked = tf.sum(tf.mul(logp, tf.oneHot(t.ids, C)), 1);
        return tf.div(tf.neg(tf.sum(tf.mul(picked, t.mask))), t.valid) as tf.Scalar;
      }),
      (head) => segmentationScores(scoreOn(val, head)).miou,
      true,
      disposeHead,
    );
    const metrics = segmentationMetrics(scoreOn(test, choice.fit), cfg.bootstrap, cfg.seed);
    disposeHead(choice.fit);
    return { metrics, lr: choice.lr, validation: choice.validation };
  } finally {
    for (const t of targets) {
      t.ids.dispose();
      t.mask.dispose();
    }
  }
}
