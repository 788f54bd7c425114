/**
 * The vision backbone: a ViT (patch embedding, learned position embeddings, CLS token, pre-LayerNorm blocks,
 * final LayerNorm) written functionally over a parameter dictionary, like ../lm/gpt.ts, so the same code runs
 * on trainable variables, on the EMA teacher, on perturbed copies and from cached activations below a subset S.
 *
 * Written for the wasm fast paths (../shared/ENGINE.md): the patch embedding is reshape + 4-D transpose + one
 * 2-D matMul (no conv2d, whose filter gradient is missing); every projection is a 2-D matMul through
 * `matMul2d`; position embeddings of smaller grids (local crops) are an area-average matrix times the table.
 */
import * as tf from '@tensorflow/tfjs';
import { Rng } from '../engine/rng.js';
import { gelu, layerNorm, linear, matMul2d } from '../engine/ops.js';

/** Shape of a ViT. */
export interface VitConfig {
  /** Side of the square input the position table is laid out for (global crops). Default 32. */
  imageSize: number;
  /** Side of a square patch; must divide imageSize. Default 4. */
  patchSize: number;
  /** Input channels. Default 3. */
  channels: number;
  /** Token width D. Default 64. */
  width: number;
  /** Transformer blocks. Default 4. */
  depth: number;
  /** Attention heads; must divide width. Default 4. */
  heads: number;
  /** MLP hidden width as a multiple of D. Default 4. */
  mlpRatio: number;
  /**
   * Initial position table: 'sincos' (2-D sin-cos as in MAE, rms 0.5, still learned) or 'normal' (DINO's
   * N(0, 0.02²)). Default 'sincos'.
   */
  posInit?: 'sincos' | 'normal';
}

/**
 * 2-D sin-cos position table [1 + G², D] (MAE's layout: D/4 frequencies each for sin/cos of the row and of the
 * column; the CLS row is zero), scaled to root-mean-square `rms`.
 */
export function sincosPositions(G: number, D: number, rms: number): Float32Array {
  if (D % 4 !== 0) throw new Error(`sin-cos position embeddings need a width divisible by 4, got ${D}`);
  const q = D / 4;
  const out = new Float32Array((1 + G * G) * D);
  const scale = rms * Math.SQRT2;
  for (let r = 0; r < G; r++) for (let c = 0; c < G; c++) {
    const row = (1 + r * G + c) * D;
    for (let k = 0; k < q; k++) {
      const w = 1 / 10000 ** (k / q);
      out[row + k] = scale * Math.sin(r * w);
      out[row + q + k] = scale * Math.cos(r * w);
      out[row + 2 * q + k] = scale * Math.sin(c * w);
      out[row + 3 * q + k] = scale * Math.cos(c * w);
    }
  }
  return out;
}

export type Params = Record<string, tf.Tensor>;
export type HostArrays = Record<string, { shape: number[]; data: Float32Array }>;

/** Patches per side of the full-size grid. */
export function gridSize(cfg: VitConfig): number {
  return cfg.imageSize / cfg.patchSize;
}

export function checkVitConfig(cfg: VitConfig): void {
  if (cfg.imageSize % cfg.patchSize !== 0) throw new Error(`model.imageSize ${cfg.imageSize} is not a multiple of model.patchSize ${cfg.patchSize}`);
  if (cfg.width % cfg.heads !== 0) throw new Error(`model.width ${cfg.width} is not divisible by model.heads ${cfg.heads}`);
}

export function vitParameterShapes(cfg: VitConfig): Record<string, number[]> {
  const { patchSize: p, channels: C, width: D, depth: L } = cfg;
  const G = gridSize(cfg);
  const F = cfg.mlpRatio * D;
  const shapes: Record<string, number[]> = { 'patch.w': [p * p * C, D], 'patch.b': [D], cls: [1, D], pos: [1 + G * G, D] };
  for (let i = 0; i < L; i++) {
    const b = `blk.${i}.`;
    Object.assign(shapes, {
      [`${b}ln1.g`]: [D], [`${b}ln1.b`]: [D],
      [`${b}attn.wq`]: [D, D], [`${b}attn.wk`]: [D, D], [`${b}attn.wv`]: [D, D],
      [`${b}attn.wo`]: [D, D], [`${b}attn.bo`]: [D],
      [`${b}ln2.g`]: [D], [`${b}ln2.b`]: [D],
      [`${b}mlp.w1`]: [D, F], [`${b}mlp.b1`]: [F],
      [`${b}mlp.w2`]: [F, D], [`${b}mlp.b2`]: [D],
    });
  }
  Object.assign(shapes, { 'norm.g': [D], 'norm.b': [D] });
  return shapes;
}

/** ViT-S/16, whose initialisation DINO tuned: width 384, patches of 16×16×3 values. */
const REFERENCE_WIDTH = 384;
const REFERENCE_PATCH_FAN_IN = 16 * 16 * 3;

/**
 * Initial values: DINO's N(0, 0.02²) scaled to keep ViT-S/16's per-output scale at our fan-ins (std
 * 0.02·√(384/D) for block matrices, 0.02·√(768/(p²C)) for the patch embedding); the CLS token N(0, 0.02²);
 * zero biases; unit LayerNorm gains; the position table per `posInit`.
 * Why scaled: at width 64 the unscaled init made the CLS outputs of different images nearly parallel (mean
 * cosine 0.72 against 0.29 scaled, measured on scenes), so the centred teacher targets were close to uniform
 * (entropy 6.0 of log 1024 = 6.9, against 4.8 scaled).
 * Why sin-cos positions by default: with N(0, 0.02²) positions against patch embeddings of rms ~0.5, a
 * supervised ViT of this size could not learn "is the left half brighter than the right" in 300 steps (52%),
 * and frozen random features carried almost no position (scene depth probe RMSE 2.3 m, a per-pixel mean
 * 1.1 m); with the sin-cos table the same ViT reached 65% by step 200.
 */
export function initVitParams(cfg: VitConfig, rng: Rng): HostArrays {
  checkVitConfig(cfg);
  const blockStd = 0.02 * Math.sqrt(REFERENCE_WIDTH / cfg.width);
  const patchStd = 0.02 * Math.sqrt(REFERENCE_PATCH_FAN_IN / (cfg.patchSize * cfg.patchSize * cfg.channels));
  const out: HostArrays = {};
  for (const [name, shape] of Object.entries(vitParameterShapes(cfg))) {
    const n = shape.reduce((a, b) => a * b, 1);
    let data: Float32Array;
    if (name.endsWith('.g')) data = new Float32Array(n).fill(1);
    else if (/\.b[o12]?$/.test(name)) data = new Float32Array(n);
    else if (name === 'pos' && (cfg.posInit ?? 'sincos') === 'sincos') data = sincosPositions(gridSize(cfg), cfg.width, 0.5);
    else if (name === 'pos' || name === 'cls') data = rng.normals(n, 0.02);
    else data = rng.normals(n, name === 'patch.w' ? patchStd : blockStd);
    out[name] = { shape, data };
  }
  return out;
}

/** Names of the backbone parameters in S: the last `nBlocks` blocks plus the final norm. */
export function vitSubsetNames(cfg: VitConfig, nBlocks: number): string[] {
  const from = vitSubsetStart(cfg, nBlocks);
  return Object.keys(vitParameterShapes(cfg)).filter((n) => {
    const m = /^blk\.(\d+)\./.exec(n);
    return m ? Number(m[1]) >= from : n.startsWith('norm.');
  });
}

/** Index of the first block in S. */
export function vitSubsetStart(cfg: VitConfig, nBlocks: number): number {
  return Math.max(0, cfg.depth - nBlocks);
}

function p(params: Params, name: string): tf.Tensor {
  const t = params[name];
  if (!t) throw new Error(`missing parameter '${name}'`);
  return t;
}

/**
 * [B,H,W,C] -> [B·g·g, p·p·C], patches in row-major grid order, each flattened (row, column, channel).
 * [B,H,W,C] is [B·g, p, g, p·C] in memory, so one 4-D transpose suffices.
 */
export function patchify(images: tf.Tensor4D, patchSize: number): tf.Tensor2D {
  const [B, H, W, C] = images.shape;
  if (H !== W || H % patchSize !== 0) throw new Error(`input ${H}×${W} is not a square multiple of patch ${patchSize}`);
  const g = H / patchSize;
  const x = images.reshape([B * g, patchSize, g, patchSize * C]);
  return tf.transpose(x, [0, 2, 1, 3]).reshape([B * g * g, patchSize * patchSize * C]) as tf.Tensor2D;
}

const posMatrices = new Map<string, tf.Tensor2D>();
/**
 * [g², G²] matrix that maps the full grid's position table to a g×g grid (local crops): each small-grid cell
 * averages the full-grid cells it covers (area interpolation; exact averaging when g divides G).
 */
export function positionResampler(G: number, g: number): tf.Tensor2D {
  const key = `${G}->${g}`;
  let m = posMatrices.get(key);
  if (!m) {
    const w1 = areaWeights(G, g);
    const data = new Float32Array(g * g * G * G);
    for (let a = 0; a < g; a++) for (let b = 0; b < g; b++)
      for (let r = 0; r < G; r++) for (let c = 0; c < G; c++)
        data[(a * g + b) * G * G + r * G + c] = (w1[a * G + r] as number) * (w1[b * G + c] as number);
    m = tf.keep(tf.tensor2d(data, [g * g, G * G]));
    posMatrices.set(key, m);
  }
  return m;
}

/** 1-D area weights [g, G]: output cell i covers [i·G/g, (i+1)·G/g) of the input axis. */
export function areaWeights(G: number, g: number): Float32Array {
  const w = new Float32Array(g * G);
  const step = G / g;
  for (let i = 0; i < g; i++) {
    const lo = i * step;
    const hi = lo + step;
    for (let j = 0; j < G; j++) {
      const overlap = Math.max(0, Math.min(hi, j + 1) - Math.max(lo, j));
      w[i * G + j] = overlap / step;
    }
  }
  return w;
}

/** Patch + position embeddings with the CLS token in front: images [B,S,S,C] -> tokens [B·T, D], T = 1 + (S/p)². */
export function embedImages(cfg: VitConfig, params: Params, images: tf.Tensor4D): { x: tf.Tensor2D; B: number; T: number } {
  const [B, S] = images.shape;
  const G = gridSize(cfg);
  const g = S / cfg.patchSize;
  const D = cfg.width;
  const patches = linear(patchify(images, cfg.patchSize), p(params, 'patch.w') as tf.Tensor2D, p(params, 'patch.b') as tf.Tensor1D);
  const posTable = p(params, 'pos') as tf.Tensor2D;
  const posGrid = tf.slice(posTable, [1, 0], [G * G, D]) as tf.Tensor2D;
  const pos = g === G ? posGrid : matMul2d(positionResampler(G, g), posGrid);
  const tokens = tf.add(patches.reshape([B, g * g, D]), pos);
  const cls = tf.add(tf.zeros([B, 1, D]), tf.add(p(params, 'cls'), tf.slice(posTable, [0, 0], [1, D])));
  const T = 1 + g * g;
  return { x: tf.concat([cls, tokens], 1).reshape([B * T, D]) as tf.Tensor2D, B, T };
}

/** Pre-LN block i (non-causal multi-head self-attention, GELU MLP) on hidden [B·T, D]. */
export function vitBlock(cfg: VitConfig, params: Params, i: number, x: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  const H = cfg.heads;
  const D = cfg.width;
  const dh = D / H;
  const g = (n: string): tf.Tensor => p(params, `blk.${i}.${n}`);
  const a = layerNorm(x, g('ln1.g') as tf.Tensor1D, g('ln1.b') as tf.Tensor1D);
  // Explicit transposes around the per-head matmuls: the transposed-matmul flags are the slow path.
  const heads = (w: string, perm: number[]): tf.Tensor4D =>
    tf.transpose(linear(a, g(w) as tf.Tensor2D).reshape([B, T, H, dh]), perm) as tf.Tensor4D;
  const q = heads('attn.wq', [0, 2, 1, 3]);
  const kT = heads('attn.wk', [0, 2, 3, 1]);
  const v = heads('attn.wv', [0, 2, 1, 3]);
  const att = tf.softmax(tf.mul(tf.matMul(q, kT), 1 / Math.sqrt(dh)));
  const merged = tf.transpose(tf.matMul(att, v), [0, 2, 1, 3]).reshape([B * T, D]) as tf.Tensor2D;
  x = tf.add(x, linear(merged, g('attn.wo') as tf.Tensor2D, g('attn.bo') as tf.Tensor1D));
  const m = layerNorm(x, g('ln2.g') as tf.Tensor1D, g('ln2.b') as tf.Tensor1D);
  const hdn = gelu(linear(m, g('mlp.w1') as tf.Tensor2D, g('mlp.b1') as tf.Tensor1D)) as tf.Tensor2D;
  return tf.add(x, linear(hdn, g('mlp.w2') as tf.Tensor2D, g('mlp.b2') as tf.Tensor1D));
}

/**
 * Block i computed for the CLS rows only (keys and values still come from every token): its output [B, D] is
 * exactly the CLS rows of {@link vitBlock}'s. Used for the last block when only the CLS token is read (the
 * DINO head), which skips the queries, attention rows, output projection and MLP of the T − 1 patch tokens.
 */
export function vitBlockCls(cfg: VitConfig, params: Params, i: number, x: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  const H = cfg.heads;
  const D = cfg.width;
  const dh = D / H;
  const g = (n: string): tf.Tensor => p(params, `blk.${i}.${n}`);
  const a = layerNorm(x, g('ln1.g') as tf.Tensor1D, g('ln1.b') as tf.Tensor1D);
  const heads = (w: string, perm: number[]): tf.Tensor4D =>
    tf.transpose(linear(a, g(w) as tf.Tensor2D).reshape([B, T, H, dh]), perm) as tf.Tensor4D;
  const kT = heads('attn.wk', [0, 2, 3, 1]);
  const v = heads('attn.wv', [0, 2, 1, 3]);
  const q = linear(clsTokens(a, B, T), g('attn.wq') as tf.Tensor2D).reshape([B, H, 1, dh]);
  const att = tf.softmax(tf.mul(tf.matMul(q, kT), 1 / Math.sqrt(dh)));
  const merged = tf.matMul(att, v).reshape([B, D]) as tf.Tensor2D;
  let c = tf.add(clsTokens(x, B, T), linear(merged, g('attn.wo') as tf.Tensor2D, g('attn.bo') as tf.Tensor1D)) as tf.Tensor2D;
  const m = layerNorm(c, g('ln2.g') as tf.Tensor1D, g('ln2.b') as tf.Tensor1D);
  const hdn = gelu(linear(m, g('mlp.w1') as tf.Tensor2D, g('mlp.b1') as tf.Tensor1D)) as tf.Tensor2D;
  c = tf.add(c, linear(hdn, g('mlp.w2') as tf.Tensor2D, g('mlp.b2') as tf.Tensor1D));
  return c;
}

/** Final-normed CLS features [B, D] from the hidden state entering block `from` (last block CLS-only). */
export function vitClsFrom(cfg: VitConfig, params: Params, hidden: tf.Tensor2D, B: number, T: number, from: number): tf.Tensor2D {
  if (from >= cfg.depth) return finalNorm(params, clsTokens(hidden, B, T));
  const x = runVitBlocks(cfg, params, hidden, B, T, from, cfg.depth - 1);
  return finalNorm(params, vitBlockCls(cfg, params, cfg.depth - 1, x, B, T));
}

/** Final-normed CLS features [B, D] of images (what the DINO head reads), skipping unused last-block work. */
export function vitCls(cfg: VitConfig, params: Params, images: tf.Tensor4D): tf.Tensor2D {
  const { x, B, T } = embedImages(cfg, params, images);
  return vitClsFrom(cfg, params, x, B, T, 0);
}

/** Runs blocks [from, to) on hidden [B·T, D]. */
export function runVitBlocks(cfg: VitConfig, params: Params, x: tf.Tensor2D, B: number, T: number, from: number, to: number): tf.Tensor2D {
  for (let i = from; i < to; i++) x = vitBlock(cfg, params, i, x, B, T);
  return x;
}

/** Final LayerNorm: the backbone's output tokens [B·T, D] (row b·T is image b's CLS token). */
export function finalNorm(params: Params, x: tf.Tensor2D): tf.Tensor2D {
  return layerNorm(x, p(params, 'norm.g') as tf.Tensor1D, p(params, 'norm.b') as tf.Tensor1D);
}

/** Full backbone: images [B,S,S,C] (normalised) -> output tokens [B·T, D]. */
export function vitTokens(cfg: VitConfig, params: Params, images: tf.Tensor4D): { tokens: tf.Tensor2D; B: number; T: number } {
  const { x, B, T } = embedImages(cfg, params, images);
  return { tokens: finalNorm(params, runVitBlocks(cfg, params, x, B, T, 0, cfg.depth)), B, T };
}

/** Hidden state entering block `upTo` (the activations below S, computed once and reused). */
export function vitHiddenBelow(cfg: VitConfig, params: Params, images: tf.Tensor4D, upTo: number): { x: tf.Tensor2D; B: number; T: number } {
  const { x, B, T } = embedImages(cfg, params, images);
  return { x: runVitBlocks(cfg, params, x, B, T, 0, upTo), B, T };
}

/** Output tokens from the hidden state entering block `from`: the part of the backbone S spans. */
export function vitForwardFrom(cfg: VitConfig, params: Params, hidden: tf.Tensor2D, B: number, T: number, from: number): tf.Tensor2D {
  return finalNorm(params, runVitBlocks(cfg, params, hidden, B, T, from, cfg.depth));
}

/** CLS rows [B, D] of output tokens [B·T, D]. */
export function clsTokens(tokens: tf.Tensor2D, B: number, T: number): tf.Tensor2D {
  const D = tokens.shape[1];
  return tf.slice(tokens.reshape([B, T, D]), [0, 0, 0], [B, 1, D]).reshape([B, D]) as tf.Tensor2D;
}

/** Patch rows [B, T−1, D] of output tokens [B·T, D], in row-major grid order. */
export function patchTokens(tokens: tf.Tensor2D, B: number, T: number): tf.Tensor3D {
  const D = tokens.shape[1];
  return tf.slice(tokens.reshape([B, T, D]), [0, 1, 0], [B, T - 1, D]) as tf.Tensor3D;
}
