/** The frozen feature function of a DINO backbone, for the probes (../eval/probes never see the model). */
import * as tf from '@tensorflow/tfjs';
import type { FeatureFn, Features } from '../eval/probes/features.js';
import { normalizedCopy } from './augment.js';
import type { BackboneChoice, DinoModel } from './model.js';
import { clsTokens, gridSize, patchTokens, vitTokens } from './vit.js';

/**
 * Features of the chosen network's backbone (final-norm CLS and patch tokens) on images in [0, 1], normalised
 * as in training, `chunk` images per forward pass.
 */
export function backboneFeatures(model: DinoModel, which: BackboneChoice = 'teacher', chunk = 64): FeatureFn {
  const cfg = model.cfg.vit;
  return (images: Float32Array, n: number, size: number): Features => {
    if (size !== cfg.imageSize) throw new Error(`images are ${size}×${size}; the backbone takes ${cfg.imageSize}×${cfg.imageSize}`);
    const D = cfg.width;
    const g = gridSize(cfg);
    const P = g * g;
    const cls = new Float32Array(n * D);
    const patch = new Float32Array(n * P * D);
    const per = size * size * 3;
    for (let a = 0; a < n; a += chunk) {
      const b = Math.min(n, a + chunk);
      const [c, p] = tf.tidy(() => {
        const x = tf.tensor4d(normalizedCopy(images.subarray(a * per, b * per)), [b - a, size, size, 3]);
        const { tokens, B, T } = vitTokens(cfg, model.params(which), x);
        return [clsTokens(tokens, B, T), patchTokens(tokens, B, T)];
      });
      cls.set(c.dataSync(), a * D);
      patch.set(p.dataSync(), a * P * D);
      c.dispose();
      p.dispose();
    }
    return { n, dim: D, grid: g, cls, patch };
  };
}
