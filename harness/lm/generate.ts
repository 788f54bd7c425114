/**
 * Greedy decoding for a batch of prompts of different lengths. Prompts are right-padded; because attention is
 * causal, padding after a sequence's end never changes its logits, so each row reads its next token at its own
 * last position. Generation stops per row at end-of-text, at a stop string, at `maxNewTokens`, or when the
 * context is full.
 */
import * as tf from '@tensorflow/tfjs';
import { forward } from './gpt.js';
import type { LanguageModel } from './model.js';

export interface GenerateOptions {
  /** Upper bound on generated tokens per prompt. Default 96. */
  maxNewTokens?: number;
  /** Generation ends at the first of these strings, which is cut off. Default lm-eval's gsm8k list. */
  stop?: string[];
  /** Prompts decoded together. Default 32. */
  batchSize?: number;
}

export const GSM8K_STOP = ['Question:', '</s>', '<|im_end|>'];

/** Cuts `text` at the earliest stop string; returns [text, whether a stop was found]. */
export function cutAtStop(text: string, stop: readonly string[]): [string, boolean] {
  let cut = -1;
  for (const s of stop) {
    const i = text.indexOf(s);
    if (i >= 0 && (cut < 0 || i < cut)) cut = i;
  }
  return cut >= 0 ? [text.slice(0, cut), true] : [text, false];
}

export function generateGreedy(model: LanguageModel, prompts: readonly string[], opts: GenerateOptions = {}): string[] {
  const maxNew = opts.maxNewTokens ?? 96;
  const stop = opts.stop ?? GSM8K_STOP;
  const bs = opts.batchSize ?? 32;
  const tok = model.tokenizer;
  const ctx = model.cfg.blockSize;
  const out: string[] = [];
  for (let start = 0; start < prompts.length; start += bs) {
    const chunk = prompts.slice(start, start + bs);
    // Keep the right end of a prompt that does not fit, leaving room to generate (lm-eval truncates left too).
    const seqs = chunk.map((p) => tok.encode(p).slice(-Math.max(1, ctx - Math.min(maxNew, ctx >> 1))));
    const promptLen = seqs.map((s) => s.length);
    const done = seqs.map(() => false);
    const texts = seqs.map(() => '');
    for (let k = 0; k < maxNew && done.some((d) => !d); k++) {
      const T = Math.max(...seqs.map((s) => s.length));
      const flat = new Int32Array(seqs.length * T).fill(tok.eosId);
      seqs.forEach((s, i) => flat.set(s, i * T));
      const next = tf.tidy(() => {
        const logits = forward(model.cfg, model.params, tf.tensor2d(flat, [seqs.length, T], 'int32'));
        const rows = tf.tensor1d(seqs.map((s, i) => i * T + s.length - 1), 'int32');
        return tf.argMax(tf.gather(logits, rows), -1).dataSync();
      });
      seqs.forEach((s, i) => {
        if (done[i]) return;
        const id = next[i] as number;
        if (id === tok.eosId) {
          done[i] = true;
          return;
        }
        s.push(id);
        const [text, stopped] = cutAtStop(tok.decode(s.slice(promptLen[i])), stop);
        texts[i] = text;
        if (stopped || s.length >= ctx) done[i] = true;
      });
    }
    out.push(...texts);
  }
  return out;
}
