/**
 * Tensor ops of the learner and the designer, each with its gradient. On the wasm backend they run on vpt's
 * own SIMD kernels (./wasm/): batched matMul with transposes read in place, fused causal attention, LayerNorm,
 * GELU, soft cross-entropy and gather/scatter, because tfjs-wasm runs rank-4 matMuls, exp and erf on scalar
 * loops and has no gather gradient (see ../shared/ENGINE.md). Elsewhere (or with VPT_FAST_KERNELS=0) they
 * fall back to stock tfjs ops written for its fast paths (2-D matMul with explicit transposes).
 */
import * as tf from '@tensorflow/tfjs';
import { fastKernels, runVpt } from './wasm/runtime.js';
import { maxKernelInputs } from './webgpu.js';

type Grad2 = Parameters<typeof tf.customGrad>[0];

/** a[M,K] @ b[K,N] on tfjs's own matMul, with a backward pass that stays on its fast untransposed path. */
const stockMatMul2d = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: tf.matMul(a as tf.Tensor2D, b as tf.Tensor2D),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor2D, tf.Tensor2D];
      return [tf.matMul(dy as tf.Tensor2D, tf.transpose(sb)), tf.matMul(tf.transpose(sa), dy as tf.Tensor2D)];
    },
  };
}) as unknown as Grad2) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** vpt's batched matMul kernel: a @ b, or aᵀ @ b (last two dims), batch dims shared or absent on one side. */
function vmm(a: tf.Tensor, b: tf.Tensor, transposeA = false): tf.Tensor {
  return runVpt('VptMatMul', { a, b }, { transposeA });
}

/** Swaps the last two dims (vpt kernel). */
function vT(x: tf.Tensor): tf.Tensor {
  return runVpt('VptTranspose', { x });
}

/** a[M,K] @ b[K,N] on vpt's kernel; backward dA = dy·bᵀ, dB = aᵀ·dy (aᵀ read in place, not copied). */
const fastMatMul2d = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: vmm(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [vmm(dy, vT(sb)), vmm(sa, dy, true)];
    },
  };
}) as unknown as Grad2) as (a: tf.Tensor2D, b: tf.Tensor2D) => tf.Tensor2D;

/** Whether the active backend is a GPU one (WebGPU), whose matMul reads transposed operands in place. */
function onGpu(): boolean {
  return tf.getBackend() === 'webgpu';
}

/**
 * a[M,K] @ b[K,N] whose backward pass also stays on a fast path: vpt's kernels on wasm; on a GPU tfjs's own
 * matMul and gradient (transposed operands cost nothing there); elsewhere tfjs's untransposed matMul.
 */
export function matMul2d(a: tf.Tensor2D, b: tf.Tensor2D): tf.Tensor2D {
  if (fastKernels()) return fastMatMul2d(a, b);
  return onGpu() ? tf.matMul(a, b) : stockMatMul2d(a, b);
}

const fastBatchMatMul = tf.customGrad(((a: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  save([a, b]);
  return {
    value: vmm(a, b),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sa, sb] = saved as [tf.Tensor, tf.Tensor];
      return [vmm(dy, vT(sb)), vmm(sa, dy, true)];
    },
  };
}) as unknown as Grad2) as (a: tf.Tensor, b: tf.Tensor) => tf.Tensor;

/** a [..., M, K] @ b [..., K, N] with equal batch dims (tfjs runs these on a scalar loop on wasm). */
export function batchMatMul<T extends tf.Tensor>(a: T, b: T): T {
  return (fastKernels() ? fastBatchMatMul(a, b) : tf.matMul(a, b)) as T;
}

/** softmax over the last axis (vpt's kernel on wasm: tfjs-wasm's exp is a scalar loop). Forward and backward. */
export function softmax<T extends tf.Tensor>(x: T): T {
  if (!fastKernels()) return tf.softmax(x) as T;
  return tf.customGrad(((t: tf.Tensor, save: tf.GradSaveFunc) => {
    const p = runVpt('VptSoftmax', { x: t }, { scale: 1, causal: false });
    save([p]);
    return { value: p, gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [runVpt('VptSoftmaxGrad', { p: saved[0] as tf.Tensor, dp: dy }, { scale: 1 })] };
  }) as unknown as Grad2)(x) as T;
}

/** x[N,D] @ w[D,F] + bias[F] on vpt's kernels, the bias gradient a column sum. */
const fastLinearBias = tf.customGrad(((x: tf.Tensor, w: tf.Tensor, bias: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x, w]);
  return {
    value: tf.add(vmm(x, w), bias),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sw] = saved as [tf.Tensor, tf.Tensor];
      return [vmm(dy, vT(sw)), vmm(sx, dy, true), runVpt('VptColSum', { x: dy })];
    },
  };
}) as unknown as Grad2) as (x: tf.Tensor2D, w: tf.Tensor2D, bias: tf.Tensor1D) => tf.Tensor2D;

/** x[N,D] @ w[D,F] + bias[F] (on a GPU one fused kernel with the bias). */
export function linear(x: tf.Tensor2D, w: tf.Tensor2D, bias?: tf.Tensor1D): tf.Tensor2D {
  if (bias && fastKernels()) return fastLinearBias(x, w, bias);
  if (bias && onGpu()) return tf.fused.matMul({ a: x, b: w, bias }) as tf.Tensor2D;
  const y = matMul2d(x, w);
  return bias ? tf.add(y, bias) : y;
}

const fastLayerNorm = (eps: number) => tf.customGrad(((x: tf.Tensor, g: tf.Tensor, b: tf.Tensor, save: tf.GradSaveFunc) => {
  const [y, stats] = runVpt<tf.Tensor[]>('VptLayerNorm', { x, g, b }, { eps }) as [tf.Tensor, tf.Tensor];
  save([x, g, stats]);
  return {
    value: y,
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sx, sg, st] = saved as [tf.Tensor, tf.Tensor, tf.Tensor];
      const [dx, dgb] = runVpt<tf.Tensor[]>('VptLayerNormGrad', { x: sx, g: sg, stats: st, dy }) as [tf.Tensor, tf.Tensor];
      const [dg, db] = tf.unstack(dgb) as [tf.Tensor, tf.Tensor];
      return [dx, dg, db];
    },
  };
}) as unknown as Grad2) as (x: tf.Tensor2D, g: tf.Tensor1D, b: tf.Tensor1D) => tf.Tensor2D;
const layerNormFns = new Map<number, ReturnType<typeof fastLayerNorm>>();

/** LayerNorm over the last axis. */
export function layerNorm(x: tf.Tensor2D, gamma: tf.Tensor1D, beta: tf.Tensor1D, eps = 1e-5): tf.Tensor2D {
  if (fastKernels() && (x.shape[1] as number) % 4 === 0) {
    let f = layerNormFns.get(eps);
    if (!f) {
      f = fastLayerNorm(eps);
      layerNormFns.set(eps, f);
    }
    return f(x, gamma, beta);
  }
  const { mean, variance } = tf.moments(x, -1, true);
  return tf.add(tf.mul(tf.div(tf.sub(x, mean), tf.sqrt(tf.add(variance, eps))), gamma), beta);
}

const fastGelu = tf.customGrad(((x: tf.Tensor, save: tf.GradSaveFunc) => {
  save([x]);
  return {
    value: runVpt('VptGelu', { x }),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => [runVpt('VptGeluGrad', { x: saved[0] as tf.Tensor, dy })],
  };
}) as unknown as Grad2) as (x: tf.Tensor) => tf.Tensor;

/** Exact (erf) GELU: x·Φ(x). (Stock form measured slightly faster than the tanh form on wasm.) */
export function gelu(x: tf.Tensor): tf.Tensor {
  if (fastKernels()) return fastGelu(x);
  return tf.mul(tf.mul(x, 0.5), tf.add(1, tf.erf(tf.mul(x, Math.SQRT1_2))));
}

/** Row-wise embedding lookup with a gradient on wasm (tf.gather has none there). */
export function embed(ids: tf.Tensor1D, table: tf.Tensor2D): tf.Tensor2D {
  if (!fastKernels()) return matMul2d(tf.oneHot(ids, table.shape[0]).toFloat() as tf.Tensor2D, table);
  const rows = table.shape[0];
  const idx = ids.dtype === 'int32' ? ids : ids.toInt();
  return tf.customGrad(((t: tf.Tensor) => ({
    value: runVpt('VptGatherRows', { table: t, ids: idx }),
    gradFunc: (dy: tf.Tensor) => [runVpt('VptScatterAddRows', { dy, ids: idx }, { rows })],
  })) as unknown as Grad2)(table) as tf.Tensor2D;
}

/** Rows `rows` of x [N, D] -> [M, D], differentiable in x (the gradient adds back into those rows). */
export function gatherRows(x: tf.Tensor2D, rows: tf.Tensor1D): tf.Tensor2D {
  return embed(rows, x);
}

/** x [M, K] placed at rows `rows` of a zero [N, K] (forward only; repeated rows add). */
export function scatterRows(x: tf.Tensor2D, rows: tf.Tensor1D, N: number): tf.Tensor2D {
  const idx = rows.dtype === 'int32' ? rows : rows.toInt();
  if (fastKernels()) return runVpt('VptScatterAddRows', { dy: x, ids: idx }, { rows: N }) as tf.Tensor2D;
  return tf.matMul(tf.oneHot(idx, N).toFloat(), x, true, false) as tf.Tensor2D;
}

/**
 * u_n · table[ids[n, k]] -> [N, K], differentiable in u and table. On vpt's kernels: the K candidate rows
 * gathered and one small product per row (N·K·d work); stock: scores over the whole table, then picked.
 */
export function candidateScores(u: tf.Tensor2D, table: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  const [N, K] = ids.shape;
  const d = u.shape[1];
  if (!fastKernels()) return pickColumns(matMul2d(u, tf.transpose(table) as tf.Tensor2D), ids);
  const rows = gatherRows(table, ids.reshape([N * K]) as tf.Tensor1D).reshape([N, K, d]);
  return batchMatMul(rows, u.reshape([N, d, 1])).reshape([N, K]) as tf.Tensor2D;
}

let causalMaskCache: tf.Tensor2D | undefined;
/**
 * [T, T] additive mask: −1e9 above the diagonal. One mask of the longest length asked for is kept (a shorter one
 * is its top-left corner), so the tensor count does not grow with every new length (feedback batches vary).
 */
export function causalMask(T: number): tf.Tensor2D {
  const have = causalMaskCache?.shape[0] ?? 0;
  if (T > have) {
    const data = new Float32Array(T * T);
    for (let i = 0; i < T; i++) for (let j = i + 1; j < T; j++) data[i * T + j] = -1e9;
    causalMaskCache?.dispose();
    causalMaskCache = tf.keep(tf.tensor2d(data, [T, T]));
  }
  const m = causalMaskCache as tf.Tensor2D;
  return T === m.shape[0] ? m : tf.slice(m, [0, 0], [T, T]);
}

const fastAttention = tf.customGrad(((q: tf.Tensor, kT: tf.Tensor, v: tf.Tensor, save: tf.GradSaveFunc) => {
  const scale = 1 / Math.sqrt(q.shape[q.shape.length - 1] as number);
  const p = runVpt('VptSoftmax', { x: vmm(q, kT) }, { scale, causal: true });
  save([q, kT, v, p]);
  return {
    value: vmm(p, v),
    gradFunc: (dy: tf.Tensor, saved: tf.Tensor[]) => {
      const [sq, skT, sv, sp] = saved as [tf.Tensor, tf.Tensor, tf.Tensor, tf.Tensor];
      const ds = runVpt('VptSoftmaxGrad', { p: sp, dp: vmm(dy, vT(sv)) }, { scale });
      return [vmm(ds, vT(skT)), vmm(sq, ds, true), vmm(sp, dy, true)];
    },
  };
}) as unknown as Grad2) as (q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D) => tf.Tensor4D;

/**
 * Causal attention softmax(q·kᵀ/√dh + mask)·v for q, v [B,H,T,dh] and kᵀ [B,H,dh,T] -> [B,H,T,dh]: one fused
 * op with its own backward on vpt's kernels (tfjs runs rank-4 matMuls on a scalar loop), else stock ops.
 */
export function causalAttention(q: tf.Tensor4D, kT: tf.Tensor4D, v: tf.Tensor4D): tf.Tensor4D {
  if (fastKernels()) return fastAttention(q, kT, v);
  const dh = q.shape[3];
  const scores = tf.add(tf.mul(tf.matMul(q, kT), 1 / Math.sqrt(dh)), causalMask(q.shape[2]));
  return tf.matMul(tf.softmax(scores), v);
}

/**
 * Per row of x [N, V]: log Σ_v exp x (shape [N, 1]). Forward only (used on detached logits).
 */
export function rowLogSumExp(x: tf.Tensor2D): tf.Tensor2D {
  if (!fastKernels()) return tf.logSumExp(x, -1, true) as tf.Tensor2D;
  return tf.tidy(() => {
    const st = runVpt<tf.Tensor>('VptRowStats', { x }) as tf.Tensor2D;
    const N = x.shape[0];
    return tf.add(tf.slice(st, [0, 0], [N, 1]), tf.log(tf.slice(st, [0, 1], [N, 1]))) as tf.Tensor2D;
  });
}

/**
 * The k largest logits of each row other than the column `exclude[n]` (descending; ties: lower column first)
 * -> { values [N, k], indices [N, k] }. Forward only (candidate selection on detached logits).
 */
export function topKExcluding(x: tf.Tensor2D, exclude: tf.Tensor1D, k: number): { values: tf.Tensor2D; indices: tf.Tensor2D } {
  const ex = exclude.dtype === 'int32' ? exclude : exclude.toInt();
  if (fastKernels()) {
    const [values, indices] = runVpt<tf.Tensor[]>('VptTopKExcluding', { x, exclude: ex }, { k }) as [tf.Tensor2D, tf.Tensor2D];
    return { values, indices };
  }
  // The excluded column pushed down by 1e9 (far below any logit) so the top k are the others.
  const r = tf.topk(tf.sub(x, tf.mul(tf.oneHot(ex, x.shape[1]).toFloat(), 1e9)), k);
  return { values: r.values as tf.Tensor2D, indices: r.indices as tf.Tensor2D };
}

/** x [N, V] at per-row columns ids [N, K] -> [N, K], differentiable in x (the gradient scatters back). */
export function pickColumns(x: tf.Tensor2D, ids: tf.Tensor2D): tf.Tensor2D {
  const V = x.shape[1];
  const idx = ids.dtype === 'int32' ? ids : ids.toInt();
  if (!fastKernels()) {
    return tf.stack(tf.unstack(idx, 1).map((col) => tf.sum(tf.mul(x, tf.oneHot(col as tf.Tensor1D, V).toFloat()), -1)), 1) as tf.Tensor2D;
  }
  return tf.customGrad(((t: tf.Tensor) => ({
    value: runVpt('VptPickColumns', { x: t, ids: idx }),
    gradFunc: (dy: tf.Tensor) => [runVpt('VptScatterColumns', { w: dy, ids: idx }, { cols: V })],
  })) as unknown as Grad2)(x) as tf.Tensor2D;
}

/** Dense [N, V] from weights w [N, K] at per-row columns ids [N, K] (repeated ids add), differentiable in w. */
export function scatterColumns(ids: tf.Tensor2D, w: tf.Tensor2D, V: number): tf.Tensor2D {
  const idx = ids.dtype === 'int32' ? ids : ids.toInt();
  if (!fastKernels()) {
    const K = ids.shape[1];
    const cols = tf.unstack(idx, 1);
    const ws = tf.unstack(w, 1);
    let q: tf.Tensor = tf.mul(tf.oneHot(cols[0] as tf.Tensor1D, V).toFloat(), (ws[0] as tf.Tensor).expandDims(1));
    for (let k = 1; k < K; k++) q = tf.add(q, tf.mul(tf.oneHot(cols[k] as tf.Tensor1D, V).toFloat(), (ws[k] as tf.Tensor).expandDims(1)));
    return q as tf.Tensor2D;
  }
  return tf.customGrad(((t: tf.Tensor) => ({
    value: runVpt('VptScatterColumns', { w: t, ids: idx }, { cols: V }),
    gradFunc: (dy: tf.Tensor) => [runVpt('VptPickColumns', { x: dy, ids: idx })],
  })) as unknown as Grad2)(w) as tf.Tensor2D;
}

/**
 * Σ of same-shaped tensors. One addN where the backend can bind them all at once; on WebGPU, whose kernels may
 * bind only so many storage buffers (8 per stage by default, one of them the output), addN over groups that
 * fit and then over the group sums (tfjs does not split it: past the limit Dawn rejects the pass).
 */
export function addMany(ts: readonly tf.Tensor[]): tf.Tensor {
  const max = maxKernelInputs();
  if (ts.length <= max) return tf.addN([...ts]);
  const sums: tf.Tensor[] = [];
  for (let i = 0; i < ts.length; i += max) {
    const group = ts.slice(i, i + max);
    sums.push(group.length === 1 ? (group[0] as tf.Tensor) : tf.addN(group));
  }
  return addMany(sums);
}

/** Global L2 norm of a list of tensors, as a scalar tensor. */
export function globalNorm(ts: tf.Tensor[]): tf.Scalar {
  return tf.sqrt(addMany(ts.map((t) => tf.sum(tf.square(t))))) as tf.Scalar;
}

/** The part of the tfjs engine state that decides whether ops are recorded for backprop (tfjs 4.22). */
interface TapeState {
  gradientDepth: number;
  activeTape: unknown;
}

/**
 * Runs `fn` with the gradient tape paused: nothing it computes is recorded or saved for the enclosing
 * gradient (no tape history, no saved copies), so its results are constants to that gradient. Gradients
 * taken inside `fn` get a tape of their own. tfjs has no public pause; this swaps the engine's tape state
 * (pinned tfjs 4.22) and restores it, even on error.
 */
export function withoutTape<T>(fn: () => T): T {
  const state = (tf.engine() as unknown as { state: TapeState }).state;
  const saved: TapeState = { gradientDepth: state.gradientDepth, activeTape: state.activeTape };
  state.gradientDepth = 0;
  state.activeTape = null;
  try {
    return fn();
  } finally {
    state.gradientDepth = saved.gradientDepth;
    state.activeTape = saved.activeTape;
  }
}

/**
 * `x`'s values as a tensor with no tape history (tfjs has no stopGradient): a reshape to the same shape,
 * which shares x's buffer (no copy), run off the tape, so no gradient ever flows back through it.
 */
export function detach<T extends tf.Tensor>(x: T): T {
  return withoutTape(() => tf.reshape(x, x.shape) as T);
}
