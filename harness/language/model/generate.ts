/**
 * Greedy decoding with a key/value cache. Prompts of different lengths are left-padded; each row gets its own
 * position ids and a key mask over its padding, so every row sees exactly what it would see alone. The prompt
 * is run once (prefill); each new token then costs one position per row. Generation stops per row at
 * end-of-text, at a stop string (cut off), at `maxNewTokens`, or when the context is full.
 */
import * as tf from '@tensorflow/tfjs';
import { embed } from '../../engine/ops.js';
import { read } from '../../engine/read.js';
import { attend, attentionInputs, blockOutput, causalMask, headLogits, isDecoder } from './gpt.js';
import type { LanguageModel } from './model.js';
import type { TextTokenizer } from './text-tokenizer.js';

export interface GenerateOptions {
  /** Upper bound on generated tokens per prompt. Default 96. */
  maxNewTokens?: number;
  /** Generation ends at the first of these strings, which is cut off. Default lm-eval's gsm8k list. */
  stop?: string[];
  /** Prompts decoded together. Default 64. */
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

/** A prompt's ids as decoding sees them: its last tokens, leaving room for min(maxNew, ctx/2) new ones. */
export function promptIds(tok: TextTokenizer, prompt: string, ctx: number, maxNew: number): number[] {
  return tok.encode(prompt).slice(-Math.max(1, ctx - Math.min(maxNew, ctx >> 1)));
}

interface LayerCache {
  kT: tf.Tensor4D;
  v: tf.Tensor4D;
}

/**
 * Runs `x` ([B*Tq, D]) through every block, attending to cache + new keys. `pos` [B*Tq]: each row's positions (the
 * GPT's are already in its embedding; a decoder's RoPE takes them here).
 */
function stepBlocks(model: LanguageModel, x: tf.Tensor2D, B: number, Tq: number, mask: tf.Tensor, caches: LayerCache[], pos: Int32Array): tf.Tensor2D {
  for (let l = 0; l < model.cfg.nLayer; l++) {
    const { q, kT, v } = attentionInputs(model.cfg, model.params, l, x, B, Tq, pos);
    const old = caches[l];
    const kAll = old ? (tf.concat([old.kT, kT], 3) as tf.Tensor4D) : kT;
    const vAll = old ? (tf.concat([old.v, v], 2) as tf.Tensor4D) : v;
    caches[l] = { kT: tf.keep(kAll), v: tf.keep(vAll) };
    if (old) tf.dispose([old.kT, old.v]);
    x = blockOutput(model.cfg, model.params, l, x, attend(model.cfg, q, kAll, vAll, mask));
  }
  return x;
}

/** Embeddings of `ids` at positions `pos` (a decoder's positions go into attention instead). */
function embedAt(model: LanguageModel, ids: Int32Array, pos: Int32Array): tf.Tensor2D {
  if (isDecoder(model.cfg)) return embed(tf.tensor1d(ids, 'int32'), model.params['model.embed_tokens.weight'] as tf.Tensor2D);
  const tok = embed(tf.tensor1d(ids, 'int32'), model.params.wte as tf.Tensor2D);
  return tf.add(tok, tf.gather(model.params.wpe as tf.Tensor2D, tf.tensor1d(pos, 'int32'))) as tf.Tensor2D;
}

/** Greedy continuations of `prompts` (awaited: each new token's ids are read back from the device). */
export async function generateGreedy(model: LanguageModel, prompts: readonly string[], opts: GenerateOptions = {}): Promise<string[]> {
  const maxNew = opts.maxNewTokens ?? 96;
  const stop = opts.stop ?? GSM8K_STOP;
  const bs = opts.batchSize ?? 64;
  const tok = model.tokenizer;
  const ctx = model.cfg.blockSize;
  const out: string[] = [];
  for (let start = 0; start < prompts.length; start += bs) {
    const chunk = prompts.slice(start, start + bs);
    // Keep the right end of a prompt that does not fit, leaving room to generate (lm-eval truncates left too).
    const seqs = chunk.map((p) => promptIds(tok, p, ctx, maxNew));
    const B = seqs.length;
    const lens = seqs.map((s) => s.length);
    const T = Math.max(...lens);
    const ids = new Int32Array(B * T).fill(tok.eosId);
    const pos = new Int32Array(B * T);
    const keyMask = new Float32Array(B * T);
    seqs.forEach((s, i) => {
      const pad = T - s.length;
      ids.set(s, i * T + pad);
      for (let j = 0; j < T; j++) {
        pos[i * T + j] = Math.max(0, j - pad);
        if (j < pad) keyMask[i * T + j] = -1e9;
      }
    });
    const caches: LayerCache[] = [];
    const generated: number[][] = seqs.map(() => []);
    const done = seqs.map(() => false);
    const texts = seqs.map(() => '');
    let maskData = keyMask;
    const argMaxOf = async (f: () => tf.Tensor): Promise<Int32Array> => {
      const t = tf.tidy(f);
      try {
        return (await read(t)) as Int32Array;
      } finally {
        t.dispose();
      }
    };
    try {
      let next = await argMaxOf(() => {
        const mask = tf.add(causalMask(T), tf.tensor(keyMask, [B, 1, 1, T]));
        const x = stepBlocks(model, embedAt(model, ids, pos), B, T, mask, caches, pos);
        const last = tf.gather(x, tf.tensor1d(seqs.map((_, i) => i * T + T - 1), 'int32'));
        return tf.argMax(headLogits(model.cfg, model.params, last as tf.Tensor2D), -1);
      });
      for (let k = 0; k < maxNew; k++) {
        seqs.forEach((_, i) => {
          if (done[i]) return;
          const id = next[i] as number;
          if (id === tok.eosId) {
            done[i] = true;
            return;
          }
          generated[i]!.push(id);
          const [text, stopped] = cutAtStop(tok.decode(generated[i]!), stop);
          texts[i] = text;
          if (stopped || (lens[i] as number) + k + 1 >= ctx) done[i] = true;
        });
        if (done.every(Boolean) || k === maxNew - 1) break;
        // Feed each row's newest token at its own position (finished rows feed a dummy, ignored).
        const feed = new Int32Array(B);
        const feedPos = new Int32Array(B);
        seqs.forEach((_, i) => {
          feed[i] = done[i] ? tok.eosId : (next[i] as number);
          feedPos[i] = Math.min(ctx - 1, (lens[i] as number) + k);
        });
        const grown = new Float32Array(maskData.length + B);
        for (let i = 0; i < B; i++) {
          const t = maskData.length / B;
          grown.set(maskData.subarray(i * t, (i + 1) * t), i * (t + 1));
        }
        maskData = grown;
        next = await argMaxOf(() => {
          const t = maskData.length / B;
          const x = stepBlocks(model, embedAt(model, feed, feedPos), B, 1, tf.tensor(maskData, [B, 1, 1, t]), caches, feedPos);
          return tf.argMax(headLogits(model.cfg, model.params, x), -1);
        });
      }
    } finally {
      for (const c of caches) tf.dispose([c.kT, c.v]);
    }
    out.push(...texts);
  }
  return out;
}
