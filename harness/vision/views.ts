/**
 * The seam between the DINO learner and an arm: a view rule decides what the student and the teacher see as
 * the two global views of a batch. The baseline rule passes the standard augmented crops through; a designer
 * arm (METHOD.md §4) replaces the student's views with μ⊙v + (1−μ)⊙Blur(v). The learner's update is the same
 * DINO step whatever the rule, the way ../lm/trainer.ts takes a TargetRule.
 */
import * as tf from '@tensorflow/tfjs';
import { gaussianTaps, type HostCrops } from './augment.js';
import type { PatchMask } from './objective.js';

/** One batch's multi-crop views on the device (view-major: rows v·B..v·B+B−1 are view v). */
export interface CropBatch {
  B: number;
  nLocal: number;
  /** Pool indices of the batch's images. */
  indices: readonly number[];
  /** The 2 augmented, normalised global views [2·B, S, S, 3]. */
  global: tf.Tensor4D;
  /** The local views [nLocal·B, s, s, 3]. */
  local: tf.Tensor4D;
  /** The same views as host arrays. */
  host: HostCrops;
  /** With `dino.ibotWeight` > 0: the patches the student sees blanked in its global views this step. */
  patchMask?: PatchMask;
}

/** The global views the student and the teacher see in one step (each [2·B, S, S, 3]). */
export interface GlobalViews {
  student: tf.Tensor4D;
  teacher: tf.Tensor4D;
}

/** How an arm turns a batch's crops into the learner's global views. */
export interface ViewRule {
  /** The global views for this step. Called inside the step's tf.tidy; must not await. */
  views(crops: CropBatch, step: number): GlobalViews;
  /** Work before the step (a designer's meta step). Runs outside tidy and owns its memory. */
  beforeStep?(crops: CropBatch, step: number): void;
  /** Scalars describing what the rule did over training (mean value, keep ratio, ...). */
  summary?(): Record<string, number>;
  /** Masking rules: their current masks [n, S, S] in [0, 1] for unaugmented images [n, S, S, 3] in [0, 1] (previews). */
  masksFor?(images: Float32Array, n: number): Float32Array;
  dispose?(): void;
}

/** Baseline: both networks see the standard augmented global crops. */
export const standardViews: ViewRule = {
  views: (crops) => ({ student: crops.global, teacher: crops.global }),
};

/**
 * Gaussian blur of a batch [N, S, S, C] with reflected borders (a depthwise convolution, forward only: wasm
 * has no depthwise gradient, and the blurred image is an input, never differentiated). Equals augment.ts's
 * host `gaussianBlur` on each image.
 */
export function blurBatch(x: tf.Tensor4D, sigma: number): tf.Tensor4D {
  return tf.tidy(() => {
    const taps = gaussianTaps(sigma);
    const r = (taps.length - 1) / 2;
    const C = x.shape[3];
    const k = tf.tensor1d(taps);
    const padded = tf.mirrorPad(x, [[0, 0], [r, r], [r, r], [0, 0]], 'reflect');
    const horizontal = tf.tile(k.reshape([1, 2 * r + 1, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
    const vertical = tf.tile(k.reshape([2 * r + 1, 1, 1, 1]), [1, 1, C, 1]) as tf.Tensor4D;
    return tf.depthwiseConv2d(tf.depthwiseConv2d(padded, horizontal, 1, 'valid'), vertical, 1, 'valid');
  });
}
