/**
 * The random-masks control (the vision analogue of uniform smoothing): the student's global views are masked
 * like the designer arms' — μ⊙v + (1−μ)⊙Blur(v), the teacher sees v — but μ is smooth random noise with a
 * given keep ratio, smoothness and softness, fresh every step, and nothing is learned from feedback. Matched to
 * a designer cell, the masks have that cell's mean keep ratio, mask entropy and total variation.
 */
import * as tf from '@tensorflow/tfjs';
import type { Rng } from '../../engine/rng.js';
import type { VisionDesignConfig } from '../schema.js';
import { blurBatch, type CropBatch, type GlobalViews, type ViewRule } from '../views.js';
import { hostMaskStats, maskedViews, matchRandomMasks, randomMasks, type RandomMaskParams } from './masks.js';

/** A designer cell's mask statistics to match (its `keep_ratio`, `mask_entropy`, `mask_tv` diagnostics). */
export interface MaskTargets {
  keep: number;
  entropy: number;
  tv: number;
}

/** Random-mask parameters: matched to `targets` when given, else the suite's `keepTarget` and random-mask settings. */
export function randomMaskParams(design: VisionDesignConfig, S: number, rng: Rng, targets?: MaskTargets): RandomMaskParams {
  if (!targets) return { keep: design.keepTarget, sigma: design.randomMaskSigma, sharpness: design.randomMaskSharpness };
  return matchRandomMasks(targets, S, rng);
}

export class RandomMaskRule implements ViewRule {
  private readonly sums = [0, 0, 0, 0];

  constructor(
    private readonly design: VisionDesignConfig,
    private readonly S: number,
    readonly params: RandomMaskParams,
    private readonly rng: Rng,
    private readonly previewRng: Rng,
    private readonly matched: boolean,
  ) {}

  views(crops: CropBatch): GlobalViews {
    const n = crops.global.shape[0];
    const S = this.S;
    const host = randomMasks(n, S, this.params, this.rng);
    const st = hostMaskStats(host, n, S);
    this.sums[0]! += st.keep;
    this.sums[1]! += st.entropy;
    this.sums[2]! += st.tv;
    this.sums[3]! += 1;
    const mu = tf.tensor4d(host, [n, S, S, 1]);
    return { student: maskedViews(crops.global, blurBatch(crops.global, this.design.maskBlurSigma), mu, this.design.maskStrength), teacher: crops.global };
  }

  masksFor(_images: Float32Array, n: number): Float32Array {
    return randomMasks(n, this.S, this.params, this.previewRng);
  }

  summary(): Record<string, number> {
    const n = Math.max(1, this.sums[3] as number);
    return {
      keep_ratio: (this.sums[0] as number) / n,
      mask_entropy: (this.sums[1] as number) / n,
      mask_tv: (this.sums[2] as number) / n,
      random_keep: this.params.keep,
      random_sigma: this.params.sigma,
      random_sharpness: this.params.sharpness,
      matched: this.matched ? 1 : 0,
    };
  }
}
