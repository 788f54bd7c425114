/**
 * Pretrained decoders in the Hugging Face layout on tfjs: Qwen2/Qwen2.5 (q/k/v biases), Qwen3 (q/k RMSNorm) and
 * LLaMA (Llama 2 and 3, RoPE scaling), with grouped-query attention, RoPE θ and RMSNorm ε from config.json, tied
 * or untied embeddings, and optional LoRA adapters on named projections. Written functionally over a parameter
 * dictionary under the checkpoint's own names (linear weights [out, in] as stored), like the vpt GPT (./gpt.ts),
 * so the trainer, the value estimator and decoding run on it unchanged.
 */
import * as tf from '@tensorflow/tfjs';
import { batchMatMul, embed, gatherRows, matMul2d, softmax } from '../../engine/ops.js';
import type { Params } from './params.js';

export type DecoderArch = 'qwen2' | 'qwen3' | 'llama';

/** LoRA on the named projections (q_proj, k_proj, v_proj, o_proj, gate_proj, up_proj, down_proj). */
export interface LoraConfig {
  r: number;
  alpha: number;
  dropout: number;
  targets: string[];
}

export interface RopeScaling {
  type: 'llama3' | 'linear' | 'dynamic';
  factor: number;
  lowFreqFactor?: number;
  highFreqFactor?: number;
  originalMaxPositions?: number;
}

/**
 * A decoder's shape. The vpt GPT's field names are kept (vocabSize, blockSize, nLayer, nHead, nEmbd) so code that
 * only needs those reads either kind of model alike; `arch` tells them apart.
 */
export interface DecoderConfig {
  arch: DecoderArch;
  vocabSize: number;
  /** Longest sequence trained or decoded here (the suite's blockSize, at most the model's maxPositions). */
  blockSize: number;
  nLayer: number;
  nHead: number;
  nEmbd: number;
  kvHeads: number;
  headDim: number;
  intermediate: number;
  ropeTheta: number;
  rmsEps: number;
  tied: boolean;
  maxPositions: number;
  ropeScaling?: RopeScaling;
  lora?: LoraConfig;
}

const MODULES = { q_proj: 'self_attn', k_proj: 'self_attn', v_proj: 'self_attn', o_proj: 'self_attn', gate_proj: 'mlp', up_proj: 'mlp', down_proj: 'mlp' } as const;
export type ProjectionName = keyof typeof MODULES;
export const PROJECTIONS = Object.keys(MODULES) as ProjectionName[];

export function layerPrefix(i: number): string {
  return `model.layers.${i}.`;
}

export function projectionName(i: number, proj: ProjectionName): string {
  return `${layerPrefix(i)}${MODULES[proj]}.${proj}`;
}

/** [out, in] of a projection. */
export function projectionShape(cfg: DecoderConfig, proj: ProjectionName): [number, number] {
  const { nEmbd: D, nHead: H, kvHeads: KV, headDim: hd, intermediate: F } = cfg;
  switch (proj) {
    case 'q_proj': return [H * hd, D];
    case 'k_proj': case 'v_proj': return [KV * hd, D];
    case 'o_proj': return [D, H * hd];
    case 'gate_proj': case 'up_proj': return [F, D];
    case 'down_proj': return [D, F];
  }
}

/** Every weight of the checkpoint with its shape, in the layout Hugging Face stores (no adapters). */
export function decoderShapes(cfg: DecoderConfig): Record<string, number[]> {
  const { vocabSize: V, nEmbd: D, headDim: hd } = cfg;
  const out: Record<string, number[]> = { 'model.embed_tokens.weight': [V, D] };
  for (let i = 0; i < cfg.nLayer; i++) {
    const p = layerPrefix(i);
    out[`${p}input_layernorm.weight`] = [D];
    for (const proj of PROJECTIONS) out[`${projectionName(i, proj)}.weight`] = projectionShape(cfg, proj);
    if (cfg.arch === 'qwen2') for (const proj of ['q_proj', 'k_proj', 'v_proj'] as const) out[`${projectionName(i, proj)}.bias`] = [projectionShape(cfg, proj)[0]];
    if (cfg.arch === 'qwen3') {
      out[`${p}self_attn.q_norm.weight`] = [hd];
      out[`${p}self_attn.k_norm.weight`] = [hd];
    }
    out[`${p}post_attention_layernorm.weight`] = [D];
  }
  out['model.norm.weight'] = [D];
  if (!cfg.tied) out['lm_head.weight'] = [V, D];
  return out;
}

/** The adapters' names and shapes: A [r, in] and B [out, r] per targeted projection of every layer. */
export function loraShapes(cfg: DecoderConfig): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  if (!cfg.lora) return out;
  for (let i = 0; i < cfg.nLayer; i++) {
    for (const proj of cfg.lora.targets as ProjectionName[]) {
      const [o, inp] = projectionShape(cfg, proj);
      out[`${projectionName(i, proj)}.lora_A`] = [cfg.lora.r, inp];
      out[`${projectionName(i, proj)}.lora_B`] = [o, cfg.lora.r];
    }
  }
  return out;
}

/**
 * S, the parameters the value is taken over: with LoRA the last `nBlocks` layers' adapters (the paper's branch);
 * full-parameter, the last layers, the final norm and the head (the embedding table when tied: only its use as the
 * head moves, since the activations below S are held).
 */
export function decoderSubsetNames(cfg: DecoderConfig, nBlocks: number): string[] {
  const from = Math.max(0, cfg.nLayer - nBlocks);
  const inLast = (n: string): boolean => {
    const m = /^model\.layers\.(\d+)\./.exec(n);
    return m !== null && Number(m[1]) >= from;
  };
  if (cfg.lora) return Object.keys(loraShapes(cfg)).filter(inLast);
  return Object.keys(decoderShapes(cfg)).filter((n) => inLast(n) || n === 'model.norm.weight' || n === 'lm_head.weight' || (cfg.tied && n === 'model.embed_tokens.weight'));
}

function p(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`missing parameter '${name}'`);
  return t;
}

/** x [N, D] · w [out, in]ᵀ (+ bias), with the projection's adapter when it has one: + (α/r)·x·Aᵀ·Bᵀ. */
function project(cfg: DecoderConfig, params: Params, i: number, proj: ProjectionName, x: tf.Tensor2D): tf.Tensor2D {
  const name = projectionName(i, proj);
  let y = matMul2d(x, tf.transpose(p(params, `${name}.weight`)) as tf.Tensor2D);
  const bias = params[`${name}.bias`];
  if (bias) y = tf.add(y, bias);
  const A = params[`${name}.lora_A`];
  if (A && cfg.lora) {
    const B = p(params, `${name}.lora_B`);
    const low = matMul2d(matMul2d(x, tf.transpose(A) as tf.Tensor2D), tf.transpose(B) as tf.Tensor2D);
    y = tf.add(y, tf.mul(low, cfg.lora.alpha / cfg.lora.r));
  }
  return y;
}

/** RMSNorm over the last axis: x / sqrt(mean(x²) + ε) · w. */
export function rmsNorm(x: tf.Tensor, w: tf.Tensor, eps: number): tf.Tensor {
  const ms = tf.mean(tf.square(x), -1, true);
  return tf.mul(tf.mul(x, tf.rsqrt(tf.add(ms, eps))), w);
}

/** RoPE's inverse frequencies for the config, with its scaling (transformers' rope_utils, computed in float64). */
export function inverseFrequencies(cfg: DecoderConfig, seqLen: number): Float64Array {
  const dim = cfg.headDim;
  let base = cfg.ropeTheta;
  const sc = cfg.ropeScaling;
  if (sc?.type === 'dynamic' && seqLen > cfg.maxPositions) {
    base *= ((sc.factor * seqLen) / cfg.maxPositions - (sc.factor - 1)) ** (dim / (dim - 2));
  }
  const inv = new Float64Array(dim / 2);
  for (let j = 0; j < dim / 2; j++) inv[j] = 1 / base ** ((2 * j) / dim);
  if (sc?.type === 'linear') for (let j = 0; j < inv.length; j++) (inv[j] as number) /= sc.factor;
  if (sc?.type === 'llama3') {
    const old = sc.originalMaxPositions ?? cfg.maxPositions;
    const low = sc.lowFreqFactor ?? 1;
    const high = sc.highFreqFactor ?? 4;
    const lowWave = old / low;
    const highWave = old / high;
    for (let j = 0; j < inv.length; j++) {
      const f = inv[j] as number;
      const wave = (2 * Math.PI) / f;
      if (wave > lowWave) inv[j] = f / sc.factor;
      else if (wave >= highWave) {
        const smooth = (old / wave - low) / (high - low);
        inv[j] = (1 - smooth) * (f / sc.factor) + smooth * f;
      }
    }
  }
  return inv;
}

/** cos and sin [T, headDim] at `positions` (the half-rotation layout: each frequency twice). */
export function ropeTables(cfg: DecoderConfig, positions: ArrayLike<number>): { cos: tf.Tensor2D; sin: tf.Tensor2D } {
  const hd = cfg.headDim;
  const T = positions.length;
  let longest = 0;
  for (let t = 0; t < T; t++) longest = Math.max(longest, (positions[t] as number) + 1);
  const inv = inverseFrequencies(cfg, longest);
  const cos = new Float32Array(T * hd);
  const sin = new Float32Array(T * hd);
  for (let t = 0; t < T; t++) {
    for (let j = 0; j < hd / 2; j++) {
      // float32 angle, as transformers computes position · inv_freq in float32
      const angle = Math.fround(Math.fround(positions[t] as number) * Math.fround(inv[j] as number));
      cos[t * hd + j] = cos[t * hd + j + hd / 2] = Math.cos(angle);
      sin[t * hd + j] = sin[t * hd + j + hd / 2] = Math.sin(angle);
    }
  }
  return { cos: tf.tensor2d(cos, [T, hd]), sin: tf.tensor2d(sin, [T, hd]) };
}

/** x [B, heads, T, hd] rotated: x·cos + rotate_half(x)·sin, with cos/sin [T, hd] (or [B, 1, T, hd] per row). */
function rotate(x: tf.Tensor4D, cos: tf.Tensor, sin: tf.Tensor): tf.Tensor4D {
  const hd = x.shape[3];
  const x1 = tf.slice(x, [0, 0, 0, 0], [-1, -1, -1, hd / 2]);
  const x2 = tf.slice(x, [0, 0, 0, hd / 2], [-1, -1, -1, hd / 2]);
  const rot = tf.concat([tf.neg(x2), x1], 3);
  return tf.add(tf.mul(x, cos), tf.mul(rot, sin)) as tf.Tensor4D;
}

/** Token embeddings [B*T, D] (RoPE puts positions into attention, not into the embedding). */
export function decoderEmbed(cfg: DecoderConfig, params: Params, ids: tf.Tensor2D): tf.Tensor2D {
  const [B, T] = ids.shape;
  if (T > cfg.blockSize) throw new Error(`sequence length ${T} exceeds blockSize ${cfg.blockSize}`);
  return embed(ids.reshape([B * T]) as tf.Tensor1D, p(params, 'model.embed_tokens.weight') as tf.Tensor2D);
}

/** Positions of a training row, 0..T−1. */
function arange(T: number): Int32Array {
  return Int32Array.from({ length: T }, (_, i) => i);
}

/** Block i's attention inputs: q [B,H,T,hd], kᵀ [B,KV,hd,T], v [B,KV,T,hd], rotated at `positions` ([T], or [B, T] per row). */
export function decoderAttentionInputs(cfg: DecoderConfig, params: Params, i: number, x: tf.Tensor2D, B: number, T: number, positions?: Int32Array): { q: tf.Tensor4D; kT: tf.Tensor4D; v: tf.Tensor4D } {
  const { nHead: H, kvHeads: KV, headDim: hd } = cfg;
  const pre = layerPrefix(i);
  const a = rmsNorm(x, p(params, `${pre}input_layernorm.weight`), cfg.rmsEps) as tf.Tensor2D;
  const heads = (proj: ProjectionName, n: number): tf.Tensor4D => tf.transpose(project(cfg, params, i, proj, a).reshape([B, T, n, hd]), [0, 2, 1, 3]) as tf.Tensor4D;
  let q = heads('q_proj', H);
  let k = heads('k_proj', KV);
  const v = heads('v_proj', KV);
  if (cfg.arch === 'qwen3') {
    q = rmsNorm(q, p(params, `${pre}self_attn.q_norm.weight`), cfg.rmsEps) as tf.Tensor4D;
    k = rmsNorm(k, p(params, `${pre}self_attn.k_norm.weight`), cfg.rmsEps) as tf.Tensor4D;
  }
  const pos = positions ?? arange(T);
  let cos: tf.Tensor;
  let sin: tf.Tensor;
  if (pos.length === T) {
    ({ cos, sin } = ropeTables(cfg, pos));
  } else {
    // One position list per row (left-padded decoding): tables [B, 1, T, hd].
    const t = ropeTables(cfg, pos);
    cos = t.cos.reshape([B, 1, T, hd]);
    sin = t.sin.reshape([B, 1, T, hd]);
  }
  return { q: rotate(q, cos, sin), kT: tf.transpose(rotate(k, cos, sin), [0, 1, 3, 2]) as tf.Tensor4D, v };
}

/** Repeats each of KV key/value heads H/KV times (grouped-query attention): [B, KV, ...] -> [B, H, ...]. */
function repeatHeads<T extends tf.Tensor4D>(x: T, H: number): T {
  const [B, KV, a, b] = x.shape;
  if (KV === H) return x;
  // Rank 4 throughout: tfjs has no gradient for tiling a rank-5 tensor.
  return tf.tile(x.reshape([B * KV, 1, a, b]), [1, H / KV, 1, 1]).reshape([B, H, a, b]) as T;
}

/** softmax(q·kᵀ/√hd + mask)·v over grouped heads, merged to [B*Tq, H*hd]. */
export function decoderAttend(cfg: DecoderConfig, q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D, mask: tf.Tensor): tf.Tensor2D {
  const [B, H, Tq, hd] = q.shape;
  const scores = tf.add(tf.mul(batchMatMul(q, repeatHeads(kT, cfg.nHead)), 1 / Math.sqrt(hd)), mask) as tf.Tensor4D;
  const y = batchMatMul(softmax(scores), repeatHeads(v, cfg.nHead));
  return tf.transpose(y, [0, 2, 1, 3]).reshape([B * Tq, H * hd]) as tf.Tensor2D;
}

/** Output projection, residual, and the SwiGLU MLP of block i. */
export function decoderBlockOutput(cfg: DecoderConfig, params: Params, i: number, x: tf.Tensor2D, merged: tf.Tensor2D): tf.Tensor2D {
  const pre = layerPrefix(i);
  const h = tf.add(x, project(cfg, params, i, 'o_proj', merged)) as tf.Tensor2D;
  const m = rmsNorm(h, p(params, `${pre}post_attention_layernorm.weight`), cfg.rmsEps) as tf.Tensor2D;
  const gate = project(cfg, params, i, 'gate_proj', m);
  const act = tf.mul(tf.mul(gate, tf.sigmoid(gate)), project(cfg, params, i, 'up_proj', m)) as tf.Tensor2D;
  return tf.add(h, project(cfg, params, i, 'down_proj', act)) as tf.Tensor2D;
}

/** The embedding table, which a tied head reads too. */
export const TIED_EMBEDDING = 'model.embed_tokens.weight';

/**
 * Where a tied head's weight may be given apart from the embedding (the learner step differentiates it as an input
 * of its own, to see the head's share of the embedding's gradient); absent, the head reads the embedding.
 */
export const TIED_HEAD = 'lm_head.weight (tied)';

/** The head's weight [V, D]: lm_head, or the embedding table when tied. */
export function decoderHeadWeight(cfg: DecoderConfig, params: Params): tf.Tensor2D {
  if (!cfg.tied) return p(params, 'lm_head.weight') as tf.Tensor2D;
  return (params[TIED_HEAD] ?? p(params, TIED_EMBEDDING)) as tf.Tensor2D;
}

/** Final RMSNorm. */
export function decoderFinalNorm(cfg: DecoderConfig, params: Params, x: tf.Tensor2D): tf.Tensor2D {
  return rmsNorm(x, p(params, 'model.norm.weight'), cfg.rmsEps) as tf.Tensor2D;
}

export { gatherRows };
