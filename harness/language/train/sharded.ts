/**
 * Next-token pretraining (the base stage) on both cores: every batch is split into two shards whose
 * gradients are summed, the second shard on a worker thread (./shard-worker.ts) while this thread does the
 * first. The loss of each shard is its masked cross-entropy sum over the whole batch's mask count, so
 * g = g₀ + g₁ is the full batch's gradient (summed in a fixed order: the numbers do not depend on whether the
 * thread ran). The two threads meet through shared memory (SharedArrayBuffer + Atomics); the loop awaits only
 * at log points, like `trainLM`. Without a worker (threads off, or a backend that cannot run in one: WebGPU
 * holds one device per process) the second shard runs here after the first, with identical results.
 */
import * as tf from '@tensorflow/tfjs';
import { Worker } from 'node:worker_threads';
import { selectRows, type TokenRows } from '../data/pack.js';
import { hostValues, readScalars } from '../../engine/read.js';
import { fastKernels } from '../../engine/wasm/runtime.js';
import { BatchSampler, disposeBatch, toTensors, type BatchTensors } from './batches.js';
import { forward, type GptConfig, type Params } from '../model/gpt.js';
import { oneHotTargets, softCrossEntropy } from '../model/loss.js';
import type { LanguageModel } from '../model/model.js';
import { AdamW, scheduledLr } from '../../optim/adamw.js';
import type { CurvePoint, TrainOptions, TrainResult } from './trainer.js';

/** Control words in the shared Int32Array. */
const CMD_SEQ = 0;
const DONE_SEQ = 1;
const CMD = 2;
const ERROR = 3;
const ROWS = 4;
const SEQ_LEN = 5;
const CMD_STEP = 1;
const CMD_STOP = 2;

/** Shared buffers of one sharded run. */
export interface ShardBuffers {
  ctrl: SharedArrayBuffer;
  /** [0] mask count of the whole batch, [1] the worker's shard loss. */
  scalars: SharedArrayBuffer;
  params: SharedArrayBuffer;
  grads: SharedArrayBuffer;
  ids: SharedArrayBuffer;
  targets: SharedArrayBuffer;
  mask: SharedArrayBuffer;
  /** UTF-8 error text from the worker. */
  error: SharedArrayBuffer;
}

/** What the worker thread is given. */
export interface ShardWorkerData {
  cfg: GptConfig;
  names: string[];
  shapes: number[][];
  backend: string;
  fast: boolean;
  buffers: ShardBuffers;
  entry: string;
}

/**
 * Gradients of one shard: masked next-token cross-entropy of `b`, summed over its masked tokens and divided
 * by `maskTotal` (the whole batch's count). Returns the shard loss and gradients in `names` order.
 */
export function shardGradients(cfg: GptConfig, vars: Record<string, tf.Tensor>, names: string[], b: BatchTensors, maskTotal: number): { loss: tf.Scalar; grads: tf.Tensor[] } {
  return tf.tidy(() => {
    let local = 0;
    for (const m of hostValues(b.mask)) local += m;
    local = Math.max(1, local);
    const scale = local / Math.max(1, maskTotal);
    const f = (...xs: tf.Tensor[]): tf.Scalar => {
      const p: Params = {};
      names.forEach((n, i) => (p[n] = xs[i] as tf.Tensor));
      return tf.mul(softCrossEntropy(forward(cfg, p, b.ids), oneHotTargets(b.targets, cfg.vocabSize), b.mask), scale) as tf.Scalar;
    };
    const { value, grads } = tf.valueAndGrads(f)(names.map((n) => vars[n] as tf.Tensor));
    return { loss: value, grads };
  });
}

/** Copies `src` rows [from, to) of a batch into the shared batch buffers. */
function writeShard(buf: ShardBuffers, rows: TokenRows): void {
  new Int32Array(buf.ids).set(rows.inputs);
  new Int32Array(buf.targets).set(rows.targets);
  new Float32Array(buf.mask).set(rows.mask);
  const ctrl = new Int32Array(buf.ctrl);
  ctrl[ROWS] = rows.rows;
  ctrl[SEQ_LEN] = rows.seqLen;
}

function sizeOf(shape: readonly number[]): number {
  return shape.reduce((a, b) => a * b, 1);
}

function writeParams(buf: ShardBuffers, vars: Record<string, tf.Tensor>, names: string[]): void {
  const out = new Float32Array(buf.params);
  let o = 0;
  for (const n of names) {
    const d = (vars[n] as tf.Tensor).dataSync() as Float32Array;
    out.set(d, o);
    o += d.length;
  }
}

function readError(buf: ShardBuffers): string {
  const bytes = new Uint8Array(buf.error);
  const end = bytes.indexOf(0);
  return new TextDecoder().decode(bytes.slice(0, end < 0 ? bytes.length : end));
}

/** Blocks until the worker has finished step `seq` (or failed). */
function awaitWorker(buf: ShardBuffers, seq: number, what: string): void {
  const ctrl = new Int32Array(buf.ctrl);
  const t0 = Date.now();
  while (Atomics.load(ctrl, DONE_SEQ) < seq) {
    if (Atomics.load(ctrl, ERROR) !== 0) throw new Error(`shard worker failed (${what}): ${readError(buf)}`);
    if (Date.now() - t0 > 600_000) throw new Error(`shard worker did not answer in 10 minutes (${what})`);
    Atomics.wait(ctrl, DONE_SEQ, Atomics.load(ctrl, DONE_SEQ), 200);
  }
  if (Atomics.load(ctrl, ERROR) !== 0) throw new Error(`shard worker failed (${what}): ${readError(buf)}`);
}

/** Starts the worker thread (it reads the parameters from shared memory); undefined where it cannot run. */
function startWorker(model: LanguageModel, names: string[], rowsMax: number, seqLen: number): { worker: Worker; buf: ShardBuffers } | undefined {
  const backend = tf.getBackend();
  if (backend !== 'wasm' && backend !== 'cpu') return undefined;
  const P = names.reduce((a, n) => a + (model.vars[n] as tf.Tensor).size, 0);
  const buf: ShardBuffers = {
    ctrl: new SharedArrayBuffer(8 * 4),
    scalars: new SharedArrayBuffer(4 * 4),
    params: new SharedArrayBuffer(4 * P),
    grads: new SharedArrayBuffer(4 * P),
    ids: new SharedArrayBuffer(4 * rowsMax * seqLen),
    targets: new SharedArrayBuffer(4 * rowsMax * seqLen),
    mask: new SharedArrayBuffer(4 * rowsMax * seqLen),
    error: new SharedArrayBuffer(4096),
  };
  writeParams(buf, model.vars, names);
  const data: ShardWorkerData = {
    cfg: model.cfg, names, shapes: names.map((n) => [...(model.vars[n] as tf.Tensor).shape]), backend, fast: fastKernels(),
    buffers: buf, entry: new URL('./shard-worker.ts', import.meta.url).href,
  };
  const worker = new Worker(new URL('./shard-boot.mjs', import.meta.url), { workerData: data });
  // Errors surface through the shared error flag; this only keeps an early crash from being unhandled.
  worker.on('error', (e: Error) => {
    const ctrl = new Int32Array(buf.ctrl);
    new Uint8Array(buf.error).set(new TextEncoder().encode(String(e.stack ?? e.message).slice(0, 4000)));
    Atomics.store(ctrl, ERROR, 1);
    Atomics.notify(ctrl, DONE_SEQ);
  });
  // No wait for start-up: the first step's shard is queued at once and waited for like any other.
  return { worker, buf };
}

/** Options of sharded next-token training: `trainLM`'s, the targets being one-hot. */
export interface ShardedTrainOptions extends Omit<TrainOptions, 'rule'> {
  /** Run the second shard on a worker thread (the second core). Default true. */
  threads?: boolean;
}

/** Trains `o.model` on next-token cross-entropy with every batch split in two summed shards (see the module doc). */
export async function trainShardedLM(o: ShardedTrainOptions): Promise<TrainResult & { threaded: boolean }> {
  const logEvery = o.logEvery ?? 10;
  const opt = new AdamW(o.optim, o.model.vars);
  const sampler = new BatchSampler(o.rows, o.batchSize, o.rng);
  const names = Object.keys(o.model.vars);
  const split = Math.ceil(o.batchSize / 2);
  const curve: CurvePoint[] = [];
  const learnerMs: number[] = [];
  const learnerCpuMs: number[] = [];
  let tfPeakBytes = 0;
  const t0 = performance.now();
  const w = o.threads === false || o.batchSize < 2 ? undefined : startWorker(o.model, names, o.batchSize - split, o.rows.seqLen);
  const ctrl = w ? new Int32Array(w.buf.ctrl) : undefined;
  const scalars = w ? new Float32Array(w.buf.scalars) : undefined;
  try {
    for (let step = 0; step < o.steps; step++) {
      const ts = performance.now();
      const cs = process.cpuUsage();
      const all = sampler.next();
      let maskTotal = 0;
      for (let i = 0; i < all.mask.length; i++) maskTotal += all.mask[i] as number;
      const first = selectRows(all, Array.from({ length: split }, (_, i) => i));
      const second = selectRows(all, Array.from({ length: o.batchSize - split }, (_, i) => split + i));
      const seq = step + 1;
      if (w && ctrl && scalars) {
        writeShard(w.buf, second);
        scalars[0] = maskTotal;
        Atomics.store(ctrl, CMD, CMD_STEP);
        Atomics.store(ctrl, CMD_SEQ, seq);
        Atomics.notify(ctrl, CMD_SEQ);
      }
      const lr = scheduledLr(o.optim, opt.stepCount);
      const b0 = toTensors(first);
      const mine = shardGradients(o.model.cfg, o.model.vars, names, b0, maskTotal);
      disposeBatch(b0);
      tfPeakBytes = Math.max(tfPeakBytes, tf.memory().numBytes);
      let otherLoss: tf.Scalar;
      let otherGrads: tf.Tensor[];
      if (w && scalars) {
        awaitWorker(w.buf, seq, `step ${step}`);
        const g = new Float32Array(w.buf.grads);
        let off = 0;
        otherGrads = names.map((n) => {
          const shape = (o.model.vars[n] as tf.Tensor).shape;
          const size = sizeOf(shape);
          const t = tf.tensor(g.slice(off, off + size), shape);
          off += size;
          return t;
        });
        otherLoss = tf.scalar(scalars[1] as number);
      } else {
        const b1 = toTensors(second);
        const r = shardGradients(o.model.cfg, o.model.vars, names, b1, maskTotal);
        disposeBatch(b1);
        otherLoss = r.loss;
        otherGrads = r.grads;
      }
      const [loss, norm] = tf.tidy(() => {
        const sum: Record<string, tf.Tensor> = {};
        names.forEach((n, i) => (sum[n] = tf.add(mine.grads[i] as tf.Tensor, otherGrads[i] as tf.Tensor)));
        return [tf.keep(tf.add(mine.loss, otherLoss)), opt.apply(sum)] as [tf.Scalar, tf.Scalar];
      });
      tf.dispose([mine.loss, ...mine.grads, otherLoss, ...otherGrads]);
      if (w) writeParams(w.buf, o.model.vars, names);
      learnerMs.push(performance.now() - ts);
      const cpu = process.cpuUsage(cs);
      // Both threads: on two free cores about twice the wall time.
      learnerCpuMs.push((cpu.user + cpu.system) / 1000);
      try {
        if (step % logEvery === 0 || step === o.steps - 1) {
          const [l, g] = await readScalars([loss, norm]);
          const point = { step, loss: l as number, lr, gradNorm: g as number };
          curve.push(point);
          await o.onLog?.(point);
        }
      } finally {
        tf.dispose([loss, norm]);
      }
    }
  } finally {
    opt.dispose();
    if (w && ctrl) {
      Atomics.store(ctrl, CMD, CMD_STOP);
      Atomics.store(ctrl, CMD_SEQ, o.steps + 1);
      Atomics.notify(ctrl, CMD_SEQ);
      void w.worker.terminate();
    }
  }
  const wallMs = performance.now() - t0;
  const tokens = o.steps * o.batchSize * o.rows.seqLen;
  return {
    curve, wallMs, msPerStep: wallMs / Math.max(1, o.steps), tokensPerSecond: (tokens / wallMs) * 1000,
    timing: { learnerMs, targetMs: learnerMs.map(() => 0), metaMs: [], learnerCpuMs, metaCpuMs: [], stepMs: learnerMs, metaSteps: [] },
    memory: { tfPeakBytes, rssPeakBytes: process.resourceUsage().maxRSS * 1024 },
    threaded: w !== undefined,
  };
}

export const SHARD_PROTOCOL = { CMD_SEQ, DONE_SEQ, CMD, ERROR, ROWS, SEQ_LEN, CMD_STEP, CMD_STOP } as const;
