/** The frozen feature function of a DINO backbone, for the probes (../eval/probes never see the model). */
import * as tf from '@tensorflow/tfjs';
import type { FeatureFn, Features } from './probes/features.js';
import { normalizedCopy } from './augment.js';
import type { BackboneChoice, DinoModel } from './model.js';
import { clsTokens, embedImages, finalNorm, gridSize, patchTokens, runVitBlocks } from './vit.js';

/**
 * Features of the chosen network's backbone on images in [0, 1], normalised as in training, `chunk` images per
 * forward pass: the CLS and patch tokens of the last `layers` blocks, each through the final LayerNorm and
 * concatenated along the feature axis (DINOv2's linear protocol "lin. 4" at layers = 4; 1 = the output tokens).
 */
export function backboneFeatures(model: DinoModel, which: BackboneChoice = 'teacher', chunk = 64, layers = 1): FeatureFn {
  const cfg = model.cfg.vit;
  if (!Number.isInteger(layers) || layers < 1 || layers > cfg.depth) throw new Error(`eval.layers must be an integer in [1, ${cfg.depth}] (the backbone has ${cfg.depth} blocks); got ${layers}`);
  return (images: Float32Array, n: number, size: number): Features => {
    if (size !== cfg.imageSize) throw new Error(`images are ${size}×${size}; the backbone takes ${cfg.imageSize}×${cfg.imageSize}`);
    const D = cfg.width * layers;
    const g = gridSize(cfg);
    const P = g * g;
    const cls = new Float32Array(n * D);
    const patch = new Float32Array(n * P * D);
    const per = size * size * 3;
    for (let a = 0; a < n; a += chunk) {
      const b = Math.min(n, a + chunk);
      const [c, p] = tf.tidy(() => {
        const x = tf.tensor4d(normalizedCopy(images.subarray(a * per, b * per)), [b - a, size, size, 3]);
        const params = model.params(which);
        const embedded = embedImages(cfg, params, x);
        const { B, T } = embedded;
        let hidden = runVitBlocks(cfg, params, embedded.x, B, T, 0, cfg.depth - layers + 1);
        const outs = [finalNorm(params, hidden)];
        for (let i = cfg.depth - layers + 1; i < cfg.depth; i++) {
          hidden = runVitBlocks(cfg, params, hidden, B, T, i, i + 1);
          outs.push(finalNorm(params, hidden));
        }
        const tokens = outs.length === 1 ? (outs[0] as tf.Tensor2D) : (tf.concat(outs, 1) as tf.Tensor2D);
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
