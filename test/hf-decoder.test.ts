/**
 * Pretrained decoders in the Hugging Face layout on the tfjs engine: tiny random Qwen2 (q/k/v biases, tied
 * embeddings), Qwen3 (q/k norms) and LLaMA (grouped-query attention, llama3 RoPE scaling) checkpoints written by the
 * test in bfloat16 (one sharded), read and run by vpt, against a float64 reference forward written from the
 * architectures' definitions (test/hf-fixtures.ts); LoRA adapters start as the base model and train alone.
 */
import * as tf from '@tensorflow/tfjs';
import { expect } from 'chai';
import { join } from 'node:path';
import { Rng } from '../harness/engine/rng.js';
import { decoderSubsetNames } from '../harness/language/model/decoder.js';
import { forward } from '../harness/language/model/gpt.js';
import { loraInit, readDecoderConfig, readDecoderWeights } from '../harness/language/model/hf-checkpoint.js';
import { LanguageModel } from '../harness/language/model/model.js';
import { Tokenizer } from '../harness/language/model/tokenizer.js';
import { referenceLogits, writeTinyDecoder, type TinyDecoder } from './hf-fixtures.js';
import { tmp, useWasm } from './helpers.js';

const CASES: [string, TinyDecoder, number][] = [
  ['Qwen2 (q/k/v biases, tied embeddings)', { arch: 'qwen2', vocab: 40, hidden: 16, layers: 2, heads: 4, kvHeads: 2, intermediate: 24, tied: true, ropeTheta: 1e6 }, 1],
  ['Qwen3 (q/k norms, untied), sharded', { arch: 'qwen3', vocab: 40, hidden: 16, layers: 2, heads: 2, kvHeads: 1, intermediate: 20, tied: false }, 3],
  ['LLaMA 3 (GQA, llama3 RoPE scaling)', {
    arch: 'llama', vocab: 40, hidden: 16, layers: 2, heads: 4, kvHeads: 1, intermediate: 24, tied: false, ropeTheta: 500000,
    ropeScaling: { rope_type: 'llama3', factor: 8, low_freq_factor: 1, high_freq_factor: 4, original_max_position_embeddings: 8 }, maxPositions: 64,
  }, 1],
  ['LLaMA 2 (linear RoPE scaling)', { arch: 'llama', vocab: 40, hidden: 16, layers: 1, heads: 2, kvHeads: 2, intermediate: 16, tied: false, ropeScaling: { rope_type: 'linear', factor: 2 } }, 1],
];

/** A tokenizer is only carried along here: ids are given directly. */
const TOK = Tokenizer.build(['a b c'], { maxPieces: 8, maxNumber: 9 });

describe('pretrained decoders (Hugging Face layout) on tfjs', () => {
  before(useWasm);

  for (const [title, t, shards] of CASES) {
    it(`${title}: logits match a float64 reference forward of the bf16 checkpoint`, () => {
      const dir = join(tmp('vpt-hf-'), 'model');
      const weights = writeTinyDecoder(dir, t, 3, shards);
      const cfg = readDecoderConfig(dir, 16);
      const model = LanguageModel.fromArrays(cfg, readDecoderWeights(dir, cfg), TOK);
      const ids = [[3, 17, 5, 9, 39, 0, 12, 12, 7, 1, 30, 2]];
      const got = tf.tidy(() => forward(cfg, model.params, tf.tensor2d(ids, [1, ids[0]!.length], 'int32')).arraySync());
      const want = referenceLogits(t, weights, ids[0]!);
      let worst = 0;
      want.forEach((row, i) => row.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - got[i]![j]!)))));
      expect(worst, `max |logit difference| ${worst}`).to.be.lessThan(2e-4);
      model.dispose();
    });
  }

  it('LoRA: B starts at zero (the base model\'s logits), only the adapters train, S is the last layers\' adapters', () => {
    const t = CASES[0]![1];
    const dir = join(tmp('vpt-hf-'), 'model');
    writeTinyDecoder(dir, t, 4);
    const lora = { r: 4, alpha: 8, dropout: 0, targets: ['q_proj', 'v_proj', 'down_proj'] };
    const base = readDecoderConfig(dir, 16);
    const cfg = readDecoderConfig(dir, 16, lora);
    const w = readDecoderWeights(dir, cfg);
    const plain = LanguageModel.fromArrays(base, w, TOK);
    const adapted = LanguageModel.fromArrays(cfg, { ...w, ...loraInit(cfg, new Rng(1)) }, TOK, (n) => /\.lora_[AB]$/.test(n));
    const ids = tf.tensor2d([[1, 2, 3, 4, 5, 6]], [1, 6], 'int32');
    const a = tf.tidy(() => forward(base, plain.params, ids).arraySync());
    const b = tf.tidy(() => forward(cfg, adapted.params, ids).arraySync());
    expect(b).to.deep.equal(a);
    expect(Object.keys(adapted.vars).sort()).to.deep.equal(Object.keys(adapted.vars).filter((n) => /\.lora_[AB]$/.test(n)).sort());
    expect(Object.keys(adapted.vars)).to.have.length(2 * 3 * t.layers);
    expect(decoderSubsetNames(cfg, 1)).to.deep.equal([
      'model.layers.1.self_attn.q_proj.lora_A', 'model.layers.1.self_attn.q_proj.lora_B', 'model.layers.1.self_attn.v_proj.lora_A',
      'model.layers.1.self_attn.v_proj.lora_B', 'model.layers.1.mlp.down_proj.lora_A', 'model.layers.1.mlp.down_proj.lora_B',
    ]);
    // A full-parameter learner's S: the last layer, the final norm and (tied) the embedding as the head.
    expect(decoderSubsetNames(base, 1).filter((n) => !n.startsWith('model.layers.1.'))).to.deep.equal(['model.embed_tokens.weight', 'model.norm.weight']);
    ids.dispose();
    plain.dispose();
    adapted.dispose();
  });
});
