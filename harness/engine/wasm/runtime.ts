/**
 * Registers vpt's own kernels with the tfjs wasm backend (tf.registerKernel), so they run through
 * `runKernel` like any tfjs op: tracked by tidy, named in tf.profile. The SIMD kernels (./kernels.ts) share
 * the backend's heap; a few gather/scatter kernels are plain loops over heap views. `fastKernels()` says
 * whether they serve the active backend; set VPT_FAST_KERNELS=0 to run the stock tfjs ops instead (for
 * comparisons and as a fallback).
 */
import * as tf from '@tensorflow/tfjs';
import { instantiateKernels, type KernelExports } from './kernels.js';

interface HeapEntry {
  memoryOffset: number;
}

/** The parts of tfjs-backend-wasm's BackendWasm (4.22) the kernels use. */
interface WasmBackend {
  wasm: { asm: { memory: WebAssembly.Memory }; HEAPU8: Uint8Array };
  dataIdMap: { get(dataId: unknown): HeapEntry | undefined };
  makeOutput(shape: number[], dtype: tf.DataType): tf.TensorInfo;
}

type Attrs = Record<string, unknown>;
type Inputs = Record<string, tf.TensorInfo | undefined>;
type KernelBody = (be: WasmBackend, k: KernelExports, inputs: Inputs, attrs: Attrs) => tf.TensorInfo | tf.TensorInfo[];

const instances = new WeakMap<object, KernelExports>();

function kernelsOf(be: WasmBackend): KernelExports {
  let k = instances.get(be);
  if (!k) {
    k = instantiateKernels(be.wasm.asm.memory);
    instances.set(be, k);
  }
  return k;
}

function off(be: WasmBackend, t: tf.TensorInfo): number {
  const e = be.dataIdMap.get(t.dataId);
  if (!e) throw new Error('vpt kernel: tensor is not on the wasm backend');
  return e.memoryOffset;
}

function f32(be: WasmBackend, t: tf.TensorInfo): Float32Array {
  return new Float32Array(be.wasm.HEAPU8.buffer, off(be, t), size(t.shape));
}

function i32(be: WasmBackend, t: tf.TensorInfo): Int32Array {
  return new Int32Array(be.wasm.HEAPU8.buffer, off(be, t), size(t.shape));
}

function size(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function need(inputs: Inputs, name: string): tf.TensorInfo {
  const t = inputs[name];
  if (!t) throw new Error(`vpt kernel: missing input '${name}'`);
  return t;
}

function floatOnly(...ts: tf.TensorInfo[]): void {
  for (const t of ts) if (t.dtype !== 'float32') throw new Error(`vpt kernel: expected float32, got ${t.dtype}`);
}

const KERNELS: Record<string, KernelBody> = {
  /** a [...B, M, K] (or [...B, K, M] with transposeA) @ b [...B, K, N]; either side may lack the batch dims. */
  VptMatMul(be, k, inputs, attrs) {
    const a = need(inputs, 'a');
    const b = need(inputs, 'b');
    floatOnly(a, b);
    const tA = attrs.transposeA === true;
    const ra = a.shape.length;
    const rb = b.shape.length;
    const M = a.shape[tA ? ra - 1 : ra - 2] as number;
    const K = a.shape[tA ? ra - 2 : ra - 1] as number;
    const [Kb, N] = [b.shape[rb - 2] as number, b.shape[rb - 1] as number];
    if (K !== Kb) throw new Error(`vpt matMul: inner sizes ${K} and ${Kb} differ (${JSON.stringify(a.shape)} @ ${JSON.stringify(b.shape)})`);
    const bA = size(a.shape.slice(0, -2));
    const bB = size(b.shape.slice(0, -2));
    if (bA !== bB && bA !== 1 && bB !== 1) throw new Error(`vpt matMul: batch sizes ${bA} and ${bB} differ`);
    const lead = (bA >= bB ? a.shape : b.shape).slice(0, -2);
    const out = be.makeOutput([...lead, M, N], 'float32');
    k.bmm(off(be, a), off(be, b), off(be, out), Math.max(bA, bB), M, K, N, tA ? 1 : K, tA ? M : 1, bA === 1 ? 0 : M * K, bB === 1 ? 0 : K * N);
    return out;
  },
  /** Swaps the last two dims. */
  VptTranspose(be, k, inputs) {
    const x = need(inputs, 'x');
    floatOnly(x);
    const r = x.shape.length;
    const [R, C] = [x.shape[r - 2] as number, x.shape[r - 1] as number];
    const out = be.makeOutput([...x.shape.slice(0, -2), C, R], 'float32');
    k.transpose(off(be, x), off(be, out), size(x.shape.slice(0, -2)), R, C);
    return out;
  },
  /** Sum over all but the last dim. */
  VptColSum(be, k, inputs) {
    const x = need(inputs, 'x');
    floatOnly(x);
    const C = x.shape[x.shape.length - 1] as number;
    const out = be.makeOutput([C], 'float32');
    k.colsum(off(be, x), off(be, out), size(x.shape) / C, C);
    return out;
  },
  /** softmax(scale·x) over the last dim; causal: row r sees columns ≤ r mod T. */
  VptSoftmax(be, k, inputs, attrs) {
    const x = need(inputs, 'x');
    floatOnly(x);
    const T = x.shape[x.shape.length - 1] as number;
    const out = be.makeOutput([...x.shape], 'float32');
    k.softmax_rows(off(be, x), off(be, out), size(x.shape) / T, T, attrs.scale as number, attrs.causal === true ? 1 : 0);
    return out;
  },
  VptSoftmaxGrad(be, k, inputs, attrs) {
    const p = need(inputs, 'p');
    const dp = need(inputs, 'dp');
    floatOnly(p, dp);
    const T = p.shape[p.shape.length - 1] as number;
    const out = be.makeOutput([...p.shape], 'float32');
    k.softmax_grad(off(be, p), off(be, dp), off(be, out), size(p.shape) / T, T, attrs.scale as number);
    return out;
  },
  /** Per row of x [N, V]: (max, Σ exp(x − max), Σ q, Σ q·x) -> [N, 4]; q optional. */
  VptRowStats(be, k, inputs) {
    const x = need(inputs, 'x');
    const q = inputs.q;
    floatOnly(x, ...(q ? [q] : []));
    const V = x.shape[x.shape.length - 1] as number;
    const rows = size(x.shape) / V;
    const out = be.makeOutput([rows, 4], 'float32');
    k.row_stats(off(be, x), q ? off(be, q) : 0, off(be, out), rows, V, q ? 1 : 0);
    return out;
  },
  VptCeGrad(be, k, inputs) {
    const x = need(inputs, 'x');
    const q = need(inputs, 'q');
    const coef = need(inputs, 'coef');
    floatOnly(x, q, coef);
    const V = x.shape[x.shape.length - 1] as number;
    const out = be.makeOutput([...x.shape], 'float32');
    k.ce_grad(off(be, x), off(be, q), off(be, coef), off(be, out), size(x.shape) / V, V);
    return out;
  },
  VptGelu(be, k, inputs) {
    const x = need(inputs, 'x');
    floatOnly(x);
    const out = be.makeOutput([...x.shape], 'float32');
    k.gelu(off(be, x), off(be, out), size(x.shape));
    return out;
  },
  VptGeluGrad(be, k, inputs) {
    const x = need(inputs, 'x');
    const dy = need(inputs, 'dy');
    floatOnly(x, dy);
    const out = be.makeOutput([...x.shape], 'float32');
    k.gelu_grad(off(be, x), off(be, dy), off(be, out), size(x.shape));
    return out;
  },
  /** LayerNorm over the last dim -> [y, stats [rows, 2] = (mean, 1/std)]. */
  VptLayerNorm(be, k, inputs, attrs) {
    const x = need(inputs, 'x');
    const g = need(inputs, 'g');
    const b = need(inputs, 'b');
    floatOnly(x, g, b);
    const D = x.shape[x.shape.length - 1] as number;
    const rows = size(x.shape) / D;
    const y = be.makeOutput([...x.shape], 'float32');
    const stats = be.makeOutput([rows, 2], 'float32');
    k.layer_norm(off(be, x), off(be, g), off(be, b), off(be, y), off(be, stats), rows, D, attrs.eps as number);
    return [y, stats];
  },
  /** -> [dx, dgb [2, D] = (dγ, dβ)]. */
  VptLayerNormGrad(be, k, inputs) {
    const x = need(inputs, 'x');
    const g = need(inputs, 'g');
    const stats = need(inputs, 'stats');
    const dy = need(inputs, 'dy');
    floatOnly(x, g, stats, dy);
    const D = x.shape[x.shape.length - 1] as number;
    const dx = be.makeOutput([...x.shape], 'float32');
    const dgb = be.makeOutput([2, D], 'float32');
    f32(be, dgb).fill(0);
    k.layer_norm_grad(off(be, x), off(be, g), off(be, stats), off(be, dy), off(be, dx), off(be, dgb), size(x.shape) / D, D);
    return [dx, dgb];
  },
  /** One AdamW step -> [x', m', v'] (see kernels.ts adamw for the exact operation order). */
  VptAdamW(be, k, inputs, attrs) {
    const [x, g, m, v] = ['x', 'g', 'm', 'v'].map((n) => need(inputs, n)) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    floatOnly(x, g, m, v);
    const [xo, mo, vo] = [0, 1, 2].map(() => be.makeOutput([...x.shape], 'float32')) as [tf.TensorInfo, tf.TensorInfo, tf.TensorInfo];
    const a = attrs as Record<string, number>;
    k.adamw(off(be, x), off(be, g), off(be, m), off(be, v), off(be, xo), off(be, mo), off(be, vo), size(x.shape),
      a.gscale!, a.b1!, a.c1!, a.b2!, a.c2!, a.bc1!, a.bc2!, a.eps!, a.lr!, a.decay!);
    return [xo, mo, vo];
  },
  VptSumSq(be, k, inputs) {
    const x = need(inputs, 'x');
    floatOnly(x);
    const out = be.makeOutput([], 'float32');
    f32(be, out)[0] = k.sumsq(off(be, x), size(x.shape));
    return out;
  },
  /** table [V, D] rows at ids [N] -> [N, D]. */
  VptGatherRows(be, _k, inputs) {
    const table = need(inputs, 'table');
    const ids = need(inputs, 'ids');
    const [V, D] = table.shape as [number, number];
    const n = size(ids.shape);
    const out = be.makeOutput([...ids.shape, D], 'float32');
    const src = f32(be, table);
    const dst = f32(be, out);
    const id = i32(be, ids);
    for (let i = 0; i < n; i++) {
      const r = id[i] as number;
      if (r < 0 || r >= V) throw new Error(`vpt gather: id ${r} outside [0, ${V})`);
      dst.set(src.subarray(r * D, r * D + D), i * D);
    }
    return out;
  },
  /** dy [N, D] rows added into row ids[i] of a zero [rows, D] (the gather's gradient). */
  VptScatterAddRows(be, _k, inputs, attrs) {
    const dy = need(inputs, 'dy');
    const ids = need(inputs, 'ids');
    const rows = attrs.rows as number;
    const D = dy.shape[dy.shape.length - 1] as number;
    const out = be.makeOutput([rows, D], 'float32');
    const dst = f32(be, out).fill(0);
    const src = f32(be, dy);
    const id = i32(be, ids);
    for (let i = 0; i < id.length; i++) {
      const o = (id[i] as number) * D;
      const s = i * D;
      for (let j = 0; j < D; j++) dst[o + j] = (dst[o + j] as number) + (src[s + j] as number);
    }
    return out;
  },
  /** x [N, V] at columns ids [N, K] -> [N, K]. */
  VptPickColumns(be, _k, inputs) {
    const x = need(inputs, 'x');
    const ids = need(inputs, 'ids');
    const V = x.shape[1] as number;
    const [N, K] = ids.shape as [number, number];
    const out = be.makeOutput([N, K], 'float32');
    const src = f32(be, x);
    const dst = f32(be, out);
    const id = i32(be, ids);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < K; c++) {
        const v = id[n * K + c] as number;
        if (v < 0 || v >= V) throw new Error(`vpt pickColumns: id ${v} outside [0, ${V})`);
        dst[n * K + c] = src[n * V + v] as number;
      }
    }
    return out;
  },
  /**
   * Per row of x [N, V]: the k largest entries other than column exclude[n], in descending order (ties: lower
   * column first) -> [values [N, k], indices [N, k] int32].
   */
  VptTopKExcluding(be, k_, inputs, attrs) {
    const x = need(inputs, 'x');
    const exclude = need(inputs, 'exclude');
    const k = attrs.k as number;
    const [N, V] = x.shape as [number, number];
    if (k > V - 1) throw new Error(`vpt topK: k = ${k} needs at least ${k + 1} columns, have ${V}`);
    const values = be.makeOutput([N, k], 'float32');
    const indices = be.makeOutput([N, k], 'int32');
    k_.topk_rows(off(be, x), off(be, exclude), off(be, values), off(be, indices), N, V, k);
    return [values, indices];
  },
  /** w [N, K] added at columns ids [N, K] of a zero [N, cols]. */
  VptScatterColumns(be, _k, inputs, attrs) {
    const w = need(inputs, 'w');
    const ids = need(inputs, 'ids');
    const V = attrs.cols as number;
    const [N, K] = ids.shape as [number, number];
    const out = be.makeOutput([N, V], 'float32');
    const dst = f32(be, out).fill(0);
    const src = f32(be, w);
    const id = i32(be, ids);
    for (let n = 0; n < N; n++) {
      for (let c = 0; c < K; c++) {
        const o = n * V + (id[n * K + c] as number);
        dst[o] = (dst[o] as number) + (src[n * K + c] as number);
      }
    }
    return out;
  },
};

let registered = false;

/**
 * tfjs saves a copy of every tensor a gradient will need (engine.clone → the Identity kernel, which on wasm
 * copies the buffer). Tensors are immutable (variables swap buffers on assign, kernels write only their
 * outputs), so sharing the buffer with a reference count, as Reshape already does, is equivalent and free.
 */
function zeroCopyIdentity(): void {
  tf.unregisterKernel('Identity', 'wasm');
  tf.registerKernel({
    kernelName: 'Identity',
    backendName: 'wasm',
    kernelFunc: ({ inputs, backend }) => {
      const x = inputs.x as tf.TensorInfo;
      (backend as unknown as { incRef(id: unknown): void }).incRef(x.dataId);
      return { dataId: x.dataId, shape: [...x.shape], dtype: x.dtype };
    },
  });
}

function register(): void {
  if (registered) return;
  registered = true;
  zeroCopyIdentity();
  for (const [name, body] of Object.entries(KERNELS)) {
    tf.registerKernel({
      kernelName: name,
      backendName: 'wasm',
      kernelFunc: ({ inputs, attrs, backend }) => {
        const be = backend as unknown as WasmBackend;
        return body(be, kernelsOf(be), inputs as Inputs, attrs as Attrs);
      },
    });
  }
}

let enabled = process.env.VPT_FAST_KERNELS !== '0';

/** Whether vpt's kernels serve the active backend (wasm, and not disabled by VPT_FAST_KERNELS=0). */
export function fastKernels(): boolean {
  if (!enabled || tf.getBackend() !== 'wasm') return false;
  register();
  return true;
}

/** Turns the kernels off or on (for comparisons and tests); returns the previous setting. */
export function setFastKernels(on: boolean): boolean {
  const was = enabled;
  enabled = on;
  return was;
}

/** Runs one of vpt's kernels on the active backend. */
export function runVpt<T extends tf.Tensor | tf.Tensor[] = tf.Tensor>(name: keyof typeof KERNELS, inputs: Record<string, tf.Tensor>, attrs: Attrs = {}): T {
  return tf.engine().runKernel(name, inputs as tf.NamedTensorMap, attrs as tf.NamedAttrMap) as T;
}
