/**
 * A suite's pretrained decoder (`model.kind: 'hf'`): its config with the suite's sequence length and adapters, and
 * the checks that run before anything trains (config, shards, stored dtypes, the tokenizer's vocabulary against
 * the model's, what the tfjs engine can hold). Each problem is one line naming the file or key.
 */
import { DataError } from '../errors.js';
import type { DecoderConfig } from './model/decoder.js';
import { checkWeightDtypes, decoderParameterCount, readDecoderConfig } from './model/hf-checkpoint.js';
import type { TextTokenizer } from './model/text-tokenizer.js';
import { isHfModel, type HfModelConfig, type LanguageSuite } from './schema.js';

/** A parameter count in words (494M, 7.6B, 27k). */
function count(n: number): string {
  return n >= 1e9 ? `${(n / 1e9).toFixed(1)}B` : n >= 1e6 ? `${(n / 1e6).toFixed(0)}M` : `${(n / 1e3).toFixed(0)}k`;
}

/** What a tfjs learner may hold: wasm's heap is 4 GB, and activations, the designer and the probe need room too. */
const TFJS_BUDGET_BYTES = 3 * 2 ** 30;

export function loraOf(m: HfModelConfig): DecoderConfig['lora'] {
  return m.trainable === 'full' ? undefined : m.trainable.lora;
}

/**
 * The decoder's shape from its config.json, with its adapters. Its context is the model's (max_position_embeddings):
 * the suite's blockSize is the length of packed training rows, and feedback, test and prompt rows may be longer.
 */
export function decoderConfigOf(s: LanguageSuite): DecoderConfig {
  if (!isHfModel(s.model)) throw new Error('decoderConfigOf: the suite\'s model is the vpt GPT');
  const cfg = readDecoderConfig(s.model.path, s.model.blockSize, loraOf(s.model));
  return { ...cfg, blockSize: cfg.maxPositions };
}

/** Checks a pretrained decoder and its tokenizer; returns a few words for `vpt validate`. */
export function checkPretrained(s: LanguageSuite, tok: TextTokenizer & { source?: string }): string {
  if (!isHfModel(s.model)) return '';
  const m = s.model;
  const cfg = decoderConfigOf(s);
  checkWeightDtypes(m.path);
  if (tok.vocabSize > cfg.vocabSize) {
    throw new DataError(`model.tokenizer: ${tok.source ?? m.tokenizer ?? m.path} has ${tok.vocabSize} tokens, more than the model's vocab_size ${cfg.vocabSize} (${m.path}/config.json): the tokenizer of another model?`);
  }
  const params = decoderParameterCount(cfg);
  if (s.trainer !== 'torch') {
    // float32 weights; full-parameter training adds gradients and AdamW's two moments.
    const bytes = params * 4 * (cfg.lora ? 1 : 4);
    if (bytes > TFJS_BUDGET_BYTES) {
      throw new DataError(`model.path: ${m.path}: ${count(params)} parameters need ${(bytes / 2 ** 30).toFixed(1)} GB on tfjs (float32 weights${cfg.lora ? '' : ', gradients and AdamW moments'}), more than the ${TFJS_BUDGET_BYTES / 2 ** 30} GB tfjs can give a learner in wasm's 4 GB heap: train it with --trainer torch`);
    }
  }
  return `${cfg.arch} ${count(params)} parameters${cfg.lora ? `, LoRA r ${cfg.lora.r} on ${cfg.lora.targets.join('/')}` : ', full-parameter'}`;
}
