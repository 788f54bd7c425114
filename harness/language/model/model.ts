/**
 * A learner instance: GPT config + trainable variables + tokenizer, saved as safetensors with a JSON config
 * and the tokenizer beside it (model.safetensors, config.json, tokenizer.json).
 */
import * as tf from '@tensorflow/tfjs';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { read } from '../../engine/read.js';
import { Rng } from '../../engine/rng.js';
import { loadSafetensors, saveSafetensors, type NamedArray } from '../../engine/safetensors.js';
import { writeJsonAtomic } from '../../results/atomic.js';
import { initParams, parameterShapes, type GptConfig, type Params } from './gpt.js';
import { Tokenizer } from './tokenizer.js';

export class LanguageModel {
  private constructor(
    readonly cfg: GptConfig,
    readonly vars: Record<string, tf.Variable>,
    readonly tokenizer: Tokenizer,
  ) {}

  static fromArrays(cfg: GptConfig, arrays: Record<string, NamedArray>, tokenizer: Tokenizer): LanguageModel {
    const shapes = parameterShapes(cfg);
    const vars: Record<string, tf.Variable> = {};
    for (const [name, shape] of Object.entries(shapes)) {
      const a = arrays[name];
      if (!a) throw new Error(`checkpoint lacks parameter '${name}'`);
      if (JSON.stringify(a.shape) !== JSON.stringify(shape)) {
        throw new Error(`parameter '${name}' has shape ${JSON.stringify(a.shape)}, config expects ${JSON.stringify(shape)}`);
      }
      // The variable shares the tensor's buffer; the tensor itself is not kept (it would count as a leak).
      const t = tf.tensor(a.data, shape, 'float32');
      vars[name] = tf.variable(t);
      t.dispose();
    }
    return new LanguageModel(cfg, vars, tokenizer);
  }

  static init(cfg: GptConfig, tokenizer: Tokenizer, rng: Rng): LanguageModel {
    if (cfg.vocabSize !== tokenizer.vocabSize) throw new Error(`vocabSize ${cfg.vocabSize} differs from the tokenizer's ${tokenizer.vocabSize}`);
    return LanguageModel.fromArrays(cfg, initParams(cfg, rng), tokenizer);
  }

  get params(): Params {
    return this.vars;
  }

  /** Current values as host arrays (a snapshot; awaited: a device read). */
  async toArrays(): Promise<Record<string, NamedArray>> {
    const out: Record<string, NamedArray> = {};
    for (const [name, v] of Object.entries(this.vars)) out[name] = { shape: v.shape, data: (await read(v)) as Float32Array };
    return out;
  }

  async save(dir: string, meta: Record<string, unknown> = {}): Promise<void> {
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
  }
}
