/** Batches of packed rows, in the harness's drawn order or a seeded one (harness/language/draws.ts RowOrder). */
import * as tf from '@tensorflow/tfjs';
import { withHostCopy } from '../../engine/read.js';
import { Rng } from '../../engine/rng.js';
import { selectRows, type TokenRows } from '../data/pack.js';
import { RowOrder } from '../draws.js';

export class BatchSampler {
  private readonly order: RowOrder;
  private step = 0;

  /** `drawn`: the rows of each step, made by the harness; when given they are used in order instead of `rng`. */
  constructor(private readonly rows: TokenRows, readonly batchSize: number, rng: Rng, private readonly drawn?: readonly number[][]) {
    this.order = new RowOrder(rows.rows, batchSize, rng);
  }

  next(): TokenRows {
    if (!this.drawn) return selectRows(this.rows, this.order.next());
    const idx = this.drawn[this.step++];
    if (!idx) throw new Error(`the harness drew ${this.drawn.length} batches and training asked for more`);
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
