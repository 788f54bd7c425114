/**
 * The learner: a GPT (pre-LayerNorm, causal multi-head attention, GELU MLP) written functionally over a
 * parameter dictionary, so the same code runs on trainable variables, on perturbed copies (the value
 * estimator's finite differences) and from a cached hidden state (reusing activations below the subset S).
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../../engine/rng.js';
import { batchMatMul, candidateScores, causalAttention, causalMask, embed, gatherRows, gelu, layerNorm, linear, matMul2d, softmax } from '../../engine/ops.js';
import {
  decoderAttend, decoderAttentionInputs, decoderBlockOutput, decoderEmbed, decoderFinalNorm, decoderHeadWeight, decoderShapes, decoderSubsetNames,
  loraShapes, type DecoderConfig,
} from './decoder.js';

/** Shape of a GPT. */
export interface GptConfig {
  /** Vocabulary size. */
  vocabSize: number;
  /** Longest context (positions). */
  blockSize: number;
  /** Transformer blocks. */
  nLayer: number;
  /** Attention heads; must divide nEmbd. */
  nHead: number;
  /** Width. */
  nEmbd: number;
}

import type { Params } from './params.js';

export type { Params } from './params.js';

/** The learner's shape: the vpt GPT, or a pretrained decoder (./decoder.ts). Every function below takes either. */
export type ModelConfig = GptConfig | DecoderConfig;

export function isDecoder(cfg: ModelConfig): cfg is DecoderConfig {
  return 'arch' in cfg;
}

/** Every parameter and its shape (a decoder's adapters included). */
export function parameterShapes(cfg: ModelConfig): Record<string, number[]> {
  if (isDecoder(cfg)) return { ...decoderShapes(cfg), ...loraShapes(cfg) };
  const { vocabSize: V, blockSize: T, nLayer: L, nEmbd: D } = cfg;
  const shapes: Record<string, number[]> = { wte: [V, D], wpe: [T, D] };
  for (let i = 0; i < L; i++) {
    const p = `h.${i}.`;
    Object.assign(shapes, {
      [`${p}ln1.g`]: [D], [`${p}ln1.b`]: [D],
      [`${p}attn.wq`]: [D, D], [`${p}attn.wk`]: [D, D], [`${p}attn.wv`]: [D, D],
      [`${p}attn.wo`]: [D, D], [`${p}attn.bo`]: [D],
      [`${p}ln2.g`]: [D], [`${p}ln2.b`]: [D],
      [`${p}mlp.w1`]: [D, 4 * D], [`${p}mlp.b1`]: [4 * D],
      [`${p}mlp.w2`]: [4 * D, D], [`${p}mlp.b2`]: [D],
    });
  }
  Object.assign(shapes, { 'ln_f.g': [D], 'ln_f.b': [D], 'head.w': [D, V] });
  return shapes;
}

/** Initial values (GPT-2 scheme: N(0, 0.02²), residual projections scaled by 1/√(2L)), drawn from `rng`. */
export function initParams(cfg: GptConfig, rng: Rng): Record<string, { shape: number[]; data: Float32Array }> {
  if (cfg.nEmbd % cfg.nHead !== 0) throw new Error(`nEmbd ${cfg.nEmbd} is not divisible by nHead ${cfg.nHead}`);
  const out: Record<string, { shape: number[]; data: Float32Array }> = {};
  const resid = 0.02 / Math.sqrt(2 * cfg.nLayer);
  for (const [name, shape] of Object.entries(parameterShapes(cfg))) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.g')) data = new Float32Array(n).fill(1);
    else if (name.endsWith('.b') || /\.b[o12]$/.test(name)) data = new Float32Array(n);
    else data = rng.normals(n, name.endsWith('attn.wo') || name.endsWith('mlp.w2') ? resid : 0.02);
    out[name] = { shape, data };
  }
  return out;
}

/** Names of the parameters in S: the last `nBlocks` blocks plus the final norm and the head. */
export function subsetNames(cfg: ModelConfig, nBlocks: number): string[] {
  if (isDecoder(cfg)) return decoderSubsetNames(cfg, nBlocks);
  const from = Math.max(0, cfg.nLayer - nBlocks);
  return Object.keys(parameterShapes(cfg)).filter((n) => {
    const m = /^h\.(\d+)\./.exec(n);
    return m ? Number(m[1]) >= from : n.startsWith('ln_f.') || n.startsWith('head.');
  });
}

function p(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`missing parameter '${name}'`);
  return t;
}

export { causalMask };

/** Token + position embeddings: ids [B,T] -> hidden [B*T, D]. */
export function embedTokens(cfg: ModelConfig, params: Params, ids: tf.Tensor2D): tf.Tensor2D {
  if (isDecoder(cfg)) return decoderEmbed(cfg, params, ids);
  const [B, T] = ids.shape;
  if (T > cfg.blockSize) throw new Error(`sequence length ${T} exceeds blockSize ${cfg.blockSize}`);
  const tok = embed(ids.reshape([B * T]) as tf.Tensor1D, p(params, 'wte') as tf.Tensor2D);
  const pos = tf.slice(p(params, 'wpe'), [0, 0], [T, cfg.nEmbd]);
  return tf.add(tok.reshape([B, T, cfg.nEmbd]), pos).reshape([B * T, cfg.nEmbd]) as tf.Tensor2D;
}

/**
 * Per-head projections of block i: q [B,H,T,dh], kᵀ [B,H,dh,T], v [B,H,T,dh] (explicit transposes: fast path).
 * `positions` (a decoder's RoPE; [T], or B×T per row): default 0..T−1; the GPT's positions are in its embedding.
 */
export function attentionInputs(cfg: ModelConfig, params: Params, i: number, x: tf.Tensor2D, B: number, T: number, positions?: Int32Array): { q: tf.Tensor4D; kT: tf.Tensor4D; v: tf.Tensor4D } {
  if (isDecoder(cfg)) return decoderAttentionInputs(cfg, params, i, x, B, T, positions);
  const H = cfg.nHead;
  const dh = cfg.nEmbd / H;
  const g = (n: string): tf.Tensor => p(params, `h.${i}.${n}`);
  const a = layerNorm(x, g('ln1.g') as tf.Tensor1D, g('ln1.b') as tf.Tensor1D);
  const heads = (w: string, perm: number[]): tf.Tensor4D =>
    tf.transpose(linear(a, g(w) as tf.Tensor2D).reshape([B, T, H, dh]), perm) as tf.Tensor4D;
  return { q: heads('attn.wq', [0, 2, 1, 3]), kT: heads('attn.wk', [0, 2, 3, 1]), v: heads('attn.wv', [0, 2, 1, 3]) };
}

/** Merges heads [B,H,Tq,dh] back to [B*Tq, H*dh]. */
function mergeHeads(y: tf.Tensor4D): tf.Tensor2D {
  const [B, H, Tq, dh] = y.shape;
  return tf.transpose(y, [0, 2, 1, 3]).reshape([B * Tq, H * dh]) as tf.Tensor2D;
}

/** softmax(q·kᵀ/√dh + mask)·v with any additive mask (generation: cached keys, padding), merged to [B*Tq, D]. */
export function attend(cfg: ModelConfig, q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor): tf.Tensor2D {
  if (isDecoder(cfg)) return decoderAttend(cfg, q, kT, v, mask);
  const dh = q.shape[3];
  const scores = tf.add(tf.mul(batchMatMul(q, kT), 1 / Math.sqrt(dh)), mask) as tf.Tensor4D;
  return mergeHeads(batchMatMul(softmax(scores), v));
}

/** Output projection, residual, and the MLP half of block i. */
export function blockOutput(cfg: ModelConfig, params: Params, i: number, x: tf.Tensor2D, merged: tf.Tensor2D): tf.Tensor2D {
  if (isDecoder(cfg)) return decoderBlockOutput(cfg, params, i, x, merged);
  const g = (n: string): tf.Tensor => p(params, `h.${i}.${n}`);
  x = tf.add(x, linear(merged, g('attn.wo') as tf.Tensor2D, g('attn.bo') as tf.Tensor1D));
  const m = layerNorm(x, g('ln2.g') as tf.Tensor1D, g('ln2.b') as tf.Tensor1D);
  const hdn = gelu(linear(m, g('mlp.w1') as tf.Tensor2D, g('mlp.b1') as tf.Tensor1D)) as tf.Tensor2D;
  return tf.add(x, linear(hdn, g('mlp.w2') as tf.Tensor2D, g('mlp.b2') as tf.Tensor1D));
}

function block(cfg: ModelConfig, params: Params, i: number, x: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  const { q, kT, v } = attentionInputs(cfg, params, i, x, B, T);
  return blockOutput(cfg, params, i, x, selfAttention(cfg, q, kT, v));
}

/** Causal self-attention of a whole sequence, merged to [B*T, D]. */
function selfAttention(cfg: ModelConfig, q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor2D {
  return isDecoder(cfg) ? decoderAttend(cfg, q, kT, v, causalMask(q.shape[2])) : mergeHeads(causalAttention(q, kT, v));
}

/** Runs blocks [from, to) on hidden [B*T, D]. */
export function runBlocks(cfg: ModelConfig, params: Params, x: tf.Tensor2D, B: number, T: number, from: number, to: number): tf.Tensor2D {
  for (let i = from; i < to; i++) x = block(cfg, params, i, x, B, T);
  return x;
}

/** Final norm and head: hidden [N, D] -> logits [N, V]. */
export function headLogits(cfg: ModelConfig, params: Params, x: tf.Tensor2D): tf.Tensor2D {
  if (isDecoder(cfg)) return matMul2dT(decoderFinalNorm(cfg, params, x), decoderHeadWeight(cfg, params));
  const f = layerNorm(x, p(params, 'ln_f.g') as tf.Tensor1D, p(params, 'ln_f.b') as tf.Tensor1D);
  return linear(f, p(params, 'head.w') as tf.Tensor2D);
}

/** Full forward: ids [B,T] -> logits [B*T, V]. */
export function forward(cfg: ModelConfig, params: Params, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = ids.shape;
  return headLogits(cfg, params, runBlocks(cfg, params, embedTokens(cfg, params, ids), B, T, 0, cfg.nLayer));
}

/** Forward from the hidden state entering block `from`: the part of the network that S spans. */
export function forwardFrom(cfg: ModelConfig, params: Params, hidden: tf.Tensor2D, B: number, T: number, from: number): tf.Tensor2D {
  return headLogits(cfg, params, runBlocks(cfg, params, hidden, B, T, from, cfg.nLayer));
}

/**
 * Logits at `rows` only, from the hidden state entering block `from`: every block runs over all positions
 * (they are the causal context) except that the last block's attention output feeds its projection, MLP and
 * the head at `rows` only (position-wise layers: the same values there as a full forward).
 */
export function forwardFromAtRows(cfg: ModelConfig, params: Params, hidden: tf.Tensor2D, B: number, T: number, from: number, rows: tf.Tensor1D): tf.Tensor2D {
  return headLogits(cfg, params, lastHiddenAtRows(cfg, params, hidden, B, T, from, rows));
}

/** The last block's output (before the final norm) at `rows`, from the hidden state entering block `from`. */
export function lastHiddenAtRows(cfg: ModelConfig, params: Params, hidden: tf.Tensor2D, B: number, T: number, from: number, rows: tf.Tensor1D): tf.Tensor2D {
  const last = cfg.nLayer - 1;
  if (from > last) throw new Error(`lastHiddenAtRows: block ${from} is past the last block ${last}`);
  const x = runBlocks(cfg, params, hidden, B, T, from, last);
  const { q, kT, v } = attentionInputs(cfg, params, last, x, B, T);
  const merged = selfAttention(cfg, q, kT, v);
  return blockOutput(cfg, params, last, gatherRows(x, rows), gatherRows(merged, rows));
}

/**
 * Final norm and the head's columns `ids` [N, K] only: logits [N, K] of each row's own candidates, N·K·D work
 * instead of the full head's N·V·D (forward only).
 */
export function headAtColumns(cfg: ModelConfig, params: Params, x: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  if (isDecoder(cfg)) return candidateScores(decoderFinalNorm(cfg, params, x), decoderHeadWeight(cfg, params), ids);
  const f = layerNorm(x, p(params, 'ln_f.g') as tf.Tensor1D, p(params, 'ln_f.b') as tf.Tensor1D);
  return candidateScores(f, tf.transpose(p(params, 'head.w')) as tf.Tensor2D, ids);
}

/** Hidden state entering block `upTo` (the activations below S, computed once and reused). */
export function hiddenBelow(cfg: ModelConfig, params: Params, ids: tf.Tensor2D, upTo: number): tf.Tensor2D {
  const [B, T] = ids.shape;
  return runBlocks(cfg, params, embedTokens(cfg, params, ids), B, T, 0, upTo);
}

/** x [N, D] · w [V, D]ᵀ: a decoder's head, stored [out, in]. */
function matMul2dT(x: tf.Tensor2D, w: tf.Tensor2D): tf.Tensor2D {
  return matMul2d(x, tf.transpose(w) as tf.Tensor2D);
}
