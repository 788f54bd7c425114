/**
 * A learner instance: its config (the vpt GPT, or a pretrained decoder), trainable variables, frozen weights (a LoRA
 * learner's base model) and tokenizer. The vpt GPT is saved as safetensors with a JSON config and the tokenizer
 * beside it (model.safetensors, config.json, tokenizer.json).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { read } from '../../engine/read.js';
import { Rng } from '../../engine/rng.js';
import { loadSafetensors, saveSafetensors, type NamedArray } from '../../engine/safetensors.js';
import { writeJsonAtomic } from '../../results/atomic.js';
import { initParams, parameterShapes, type GptConfig, type ModelConfig, type Params } from './gpt.js';
import { Tokenizer } from './tokenizer.js';
import type { TextTokenizer } from './text-tokenizer.js';

export class LanguageModel {
  private readonly all: Params;

  private constructor(
    readonly cfg: ModelConfig,
    /** What the learner's optimiser updates. */
    readonly vars: Record<string, tf.Variable>,
    readonly tokenizer: TextTokenizer,
    /** Weights that stay as they are (a LoRA learner's base model). */
    readonly frozen: Record<string, tf.Tensor> = {},
  ) {
    this.all = { ...frozen, ...vars };
  }

  /** `trainable` picks the variables (default: every parameter); the rest are kept frozen. */
  static fromArrays(cfg: ModelConfig, arrays: Record<string, NamedArray>, tokenizer: TextTokenizer, trainable: (name: string) => boolean = () => true): LanguageModel {
    const shapes = parameterShapes(cfg);
    const vars: Record<string, tf.Variable> = {};
    const frozen: Record<string, tf.Tensor> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      const a = arrays[name];
      if (!a) throw new Error(`checkpoint lacks parameter '${name}'`);
      if (JSON.stringify(a.shape) !== JSON.stringify(shape)) {
        throw new Error(`parameter '${name}' has shape ${JSON.stringify(a.shape)}, config expects ${JSON.stringify(shape)}`);
      }
      if (!trainable(name)) {
        frozen[name] = tf.tensor(a.data, shape, 'float32');
        continue;
      }
      // The variable shares the tensor's buffer; the tensor itself is not kept (it would count as a leak).
      const t = tf.tensor(a.data, shape, 'float32');
      vars[name] = tf.variable(t);
      t.dispose();
    }
    return new LanguageModel(cfg, vars, tokenizer, frozen);
  }

  static init(cfg: GptConfig, tokenizer: TextTokenizer, rng: Rng): LanguageModel {
    if (cfg.vocabSize !== tokenizer.vocabSize) throw new Error(`vocabSize ${cfg.vocabSize} differs from the tokenizer's ${tokenizer.vocabSize}`);
    return LanguageModel.fromArrays(cfg, initParams(cfg, rng), tokenizer);
  }

  /** Every parameter, trainable and frozen, by name. */
  get params(): Params {
    return this.all;
  }

  /** Current values as host arrays (a snapshot; awaited: a device read). */
  async toArrays(): Promise<Record<string, NamedArray>> {
    const out: Record<string, NamedArray> = {};
    for (const [name, v] of Object.entries(this.vars)) out[name] = { shape: v.shape, data: (await read(v)) as Float32Array };
    return out;
  }

  /** Saves a vpt GPT with its own tokenizer (the base stage's checkpoint). */
  async save(dir: string, meta: Record<string, unknown> = {}): Promise<void> {
    if (!(this.tokenizer instanceof Tokenizer) || 'arch' in this.cfg) throw new Error('only a vpt GPT with its own tokenizer is saved as a vpt checkpoint');
    saveSafetensors(join(dir, 'model.safetensors'), await this.toArrays(), { format: 'vpt-gpt' });
    this.tokenizer.save(join(dir, 'tokenizer.json'));
    writeJsonAtomic(join(dir, 'config.json'), { architecture: 'vpt-gpt', gpt: this.cfg, ...meta });
  }

  static load(dir: string): LanguageModel {
    const conf = JSON.parse(readFileSync(join(dir, 'config.json'), 'utf8')) as { gpt?: GptConfig };
    if (!conf.gpt) throw new Error(`${join(dir, 'config.json')}: missing key 'gpt'`);
    const tok = Tokenizer.load(join(dir, 'tokenizer.json'));
    return LanguageModel.fromArrays(conf.gpt, loadSafetensors(join(dir, 'model.safetensors')).tensors, tok);
  }

  dispose(): void {
    for (const v of Object.values(this.vars)) v.dispose();
    for (const t of Object.values(this.frozen)) t.dispose();
  }
}
