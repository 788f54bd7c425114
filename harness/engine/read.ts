/**
 * Reading tensor values on the host, the same way on every backend. WebGPU in Node has no synchronous read
 * (tfjs's readSync draws through a canvas there), so reads of computed values are awaited, outside any
 * tf.tidy; each read also raises any device error reported since the last one (./webgpu.ts). Values that came
 * from the host in the first place (batch masks) are remembered when the tensor is made, so code that needs
 * them inside a step (which cannot await) reads that copy instead of the device.
 */
import * as tf from '@tensorflow/tfjs';
import { checkDevice } from './webgpu.js';

type HostArray = Float32Array | Int32Array | Uint8Array;

const hostCopies = new WeakMap<tf.Tensor, HostArray>();

/** A tensor's values on the host (awaited: a device sync). Raises a pending device error. */
export async function read(t: tf.Tensor): Promise<HostArray> {
  const v = (await t.data()) as HostArray;
  checkDevice();
  return v;
}

/** A scalar tensor's value (awaited: a device sync). */
export async function readScalar(t: tf.Tensor): Promise<number> {
  return (await read(t))[0] as number;
}

/** Several scalars, in order, with one sync: stacked on the device and read once. */
export async function readScalars(ts: readonly tf.Tensor[]): Promise<number[]> {
  if (ts.length === 0) return [];
  const all = tf.tidy(() => tf.concat(ts.map((t) => t.reshape([-1])), 0));
  try {
    return Array.from(await read(all));
  } finally {
    all.dispose();
  }
}

/** Records that `t` was made from `values` (not copied: the caller must not change them) and returns `t`. */
export function withHostCopy<T extends tf.Tensor>(t: T, values: HostArray): T {
  hostCopies.set(t, values);
  return t;
}

/** Whether the active backend can read device values synchronously (every backend but WebGPU). */
export function syncReadable(): boolean {
  return tf.getBackend() !== 'webgpu';
}

/**
 * Values of `t` without awaiting: the host copy it was made from ({@link withHostCopy}), or a synchronous read
 * where the backend has one. On WebGPU a computed tensor has no synchronous read: an error says so.
 */
export function hostValues(t: tf.Tensor): HostArray {
  const v = hostCopies.get(t);
  if (v) return v;
  if (!syncReadable()) {
    throw new Error(`a synchronous read of a computed tensor (shape ${JSON.stringify(t.shape)}) on ${tf.getBackend()}: it has none; read it with await read(t) outside the step`);
  }
  return t.dataSync() as HostArray;
}
