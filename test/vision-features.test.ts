import { expect } from 'chai';
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../harness/engine/rng.js';
import { normalizedCopy } from '../harness/vision/augment.js';
import { backboneFeatures } from '../harness/vision/features.js';
import { DinoModel } from '../harness/vision/model.js';
import { dinoModelConfig } from '../harness/vision/schema.js';
import { clsTokens, finalNorm, patchTokens, vitHiddenBelow, vitTokens } from '../harness/vision/vit.js';
import { useWasm } from './helpers.js';
import { tinyVision } from './vision-helpers.js';

describe('probe features: the last n blocks through the final norm (eval.layers)', () => {
  before(useWasm);

  it('layers 1 is the output tokens; layers n stacks block outputs, earliest first, each through the final norm', () => {
    const cfg = tinyVision({ model: { ...tinyVision().model, depth: 3 } });
    const model = DinoModel.init(dinoModelConfig(cfg.model), new Rng(4).fork('init'));
    const size = cfg.model.imageSize;
    const n = 3;
    const images = Float32Array.from(new Rng(9).normals(n * size * size * 3, 0.3), (v) => Math.min(1, Math.max(0, 0.5 + v)));
    const D = cfg.model.width;
    const vit = model.cfg.vit;
    try {
      // Independent computation: the full forward (layers 1) and the hidden state entering block 2, normed.
      const [outCls, outPatch, midCls, midPatch] = tf.tidy(() => {
        const x = tf.tensor4d(normalizedCopy(images), [n, size, size, 3]);
        const full = vitTokens(vit, model.params('student'), x);
        const mid = vitHiddenBelow(vit, model.params('student'), x, 2);
        const midTokens = finalNorm(model.params('student'), mid.x);
        return [clsTokens(full.tokens, n, full.T), patchTokens(full.tokens, n, full.T), clsTokens(midTokens, n, mid.T), patchTokens(midTokens, n, mid.T)].map((t) => t.dataSync());
      });
      const one = backboneFeatures(model, 'student', 2, 1)(images, n, size);
      expect(one.dim).to.equal(D);
      expect(Array.from(one.cls)).to.deep.equal(Array.from(outCls!));
      expect(Array.from(one.patch)).to.deep.equal(Array.from(outPatch!));
      const two = backboneFeatures(model, 'student', 2, 2)(images, n, size);
      expect(two.dim).to.equal(2 * D);
      const P = one.grid * one.grid;
      for (let r = 0; r < n * P; r++) {
        expect(Array.from(two.patch.subarray(r * 2 * D, r * 2 * D + D))).to.deep.equal(Array.from(midPatch!.subarray(r * D, (r + 1) * D)));
        expect(Array.from(two.patch.subarray(r * 2 * D + D, (r + 1) * 2 * D))).to.deep.equal(Array.from(one.patch.subarray(r * D, (r + 1) * D)));
      }
      for (let i = 0; i < n; i++) expect(Array.from(two.cls.subarray(i * 2 * D, i * 2 * D + D))).to.deep.equal(Array.from(midCls!.subarray(i * D, (i + 1) * D)));
      expect(() => backboneFeatures(model, 'student', 2, 4)).to.throw(/eval\.layers must be an integer in \[1, 3\]/);
    } finally {
      model.dispose();
    }
  });
});
