/** Seeded batch order over packed rows: a fresh permutation each epoch, drawn from the cell's RNG. */
import * as tf from '@tensorflow/tfjs';
import { withHostCopy } from '../../engine/read.js';
import { Rng } from '../../engine/rng.js';
import { selectRows, type TokenRows } from '../data/pack.js';

export class BatchSampler {
  private order: number[] = [];
  private pos = 0;

  constructor(private readonly rows: TokenRows, readonly batchSize: number, private readonly rng: Rng) {
    if (rows.rows < batchSize) throw new Error(`only ${rows.rows} rows of data for a batch of ${batchSize}`);
  }

  next(): TokenRows {
    if (this.pos + this.batchSize > this.order.length) {
      this.order = this.rng.shuffle(Array.from({ length: this.rows.rows }, (_, i) => i));
      this.pos = 0;
    }
    const idx = this.order.slice(this.pos, this.pos + this.batchSize);
    this.pos += this.batchSize;
    return selectRows(this.rows, idx);
  }
}

/**
 * Tensors for a batch: ids [B,T] int32, targets [B*T] int32, mask and wrong-flag [B*T] float32. The mask keeps
 * its host copy (../engine/read.ts `hostValues`): steps read it without a device sync.
 */
export interface BatchTensors {
  ids: tf.Tensor2D;
  targets: tf.Tensor1D;
  mask: tf.Tensor1D;
  /** 1 on targets inside a deliberately wrong result (embedded stream), else 0. */
  wrong: tf.Tensor1D;
}

export function toTensors(b: TokenRows): BatchTensors {
  return {
    ids: tf.tensor2d(b.inputs, [b.rows, b.seqLen], 'int32'),
    targets: tf.tensor1d(b.targets, 'int32'),
    mask: withHostCopy(tf.tensor1d(b.mask, 'float32'), b.mask),
    wrong: tf.tensor1d(Float32Array.from(b.wrong), 'float32'),
  };
}

export function disposeBatch(b: BatchTensors): void {
  tf.dispose([b.ids, b.targets, b.mask, b.wrong]);
}
