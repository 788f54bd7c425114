/**
 * The second shard of ./sharded.ts, on a worker thread: its own tfjs instance and copy of the parameters
 * (refreshed from shared memory before each step), the same `shardGradients`, gradients written back to
 * shared memory. Any failure is written to the shared error slot for the main thread to raise.
 */
import * as tf from '@tensorflow/tfjs';
import { workerData } from 'node:worker_threads';
import { selectBackend, type BackendName } from '../../engine/backend.js';
import { setFastKernels } from '../../engine/wasm/runtime.js';
import { shardGradients, SHARD_PROTOCOL as P, type ShardWorkerData } from './sharded.js';

const d = workerData as ShardWorkerData;
const ctrl = new Int32Array(d.buffers.ctrl);
const scalars = new Float32Array(d.buffers.scalars);
const params = new Float32Array(d.buffers.params);
const grads = new Float32Array(d.buffers.grads);

function fail(e: unknown): void {
  const text = e instanceof Error ? (e.stack ?? e.message) : String(e);
  new Uint8Array(d.buffers.error).set(new TextEncoder().encode(text.slice(0, 4000)));
  Atomics.store(ctrl, P.ERROR, 1);
  Atomics.notify(ctrl, P.DONE_SEQ);
}

/** The current parameters from shared memory (copies, so later writes there do not alias tensors). */
function loadParams(): Record<string, tf.Tensor> {
  const out: Record<string, tf.Tensor> = {};
  let off = 0;
  d.names.forEach((n, i) => {
    const shape = d.shapes[i] as number[];
    const size = shape.reduce((a, b) => a * b, 1);
    out[n] = tf.tensor(params.slice(off, off + size), shape);
    off += size;
  });
  return out;
}

async function main(): Promise<void> {
  await selectBackend(d.backend as BackendName);
  setFastKernels(d.fast);
  for (let seq = 1; ; seq++) {
    while (Atomics.load(ctrl, P.CMD_SEQ) < seq) Atomics.wait(ctrl, P.CMD_SEQ, seq - 1, 1000);
    if (Atomics.load(ctrl, P.CMD) === P.CMD_STOP) return;
    const rows = ctrl[P.ROWS] as number;
    const T = ctrl[P.SEQ_LEN] as number;
    tf.tidy(() => {
      const vars = loadParams();
      const b = {
        ids: tf.tensor2d(new Int32Array(d.buffers.ids).slice(0, rows * T), [rows, T], 'int32'),
        targets: tf.tensor1d(new Int32Array(d.buffers.targets).slice(0, rows * T), 'int32'),
        mask: tf.tensor1d(new Float32Array(d.buffers.mask).slice(0, rows * T), 'float32'),
        wrong: tf.zeros([rows * T]) as tf.Tensor1D,
      };
      const r = shardGradients(d.cfg, vars, d.names, b, scalars[0] as number);
      let off = 0;
      for (const g of r.grads) {
        const v = g.dataSync() as Float32Array;
        grads.set(v, off);
        off += v.length;
      }
      scalars[1] = r.loss.dataSync()[0] as number;
    });
    Atomics.store(ctrl, P.DONE_SEQ, seq);
    Atomics.notify(ctrl, P.DONE_SEQ);
  }
}

main().catch(fail);
