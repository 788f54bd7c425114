/**
 * The gate α a target rule applied, step by step: per learner step the mean α over answer tokens, and α on
 * the tokens the generator marked wrong versus elsewhere. Each step's sums go into one device buffer (one row
 * per step, so the tensor count stays flat) and are read only by `flush`, awaited where the trainer syncs
 * anyway (its log points, the end of training): WebGPU has no synchronous read, and nothing awaits inside a
 * step. A meta step that wants the means since the previous one takes a `mark` (synchronous, reads nothing)
 * and gets its means after the next flush.
 */
import * as tf from '@tensorflow/tfjs';
import { read } from '../../engine/read.js';
import type { BatchTensors } from '../train/batches.js';

/** Mean α overall, on wrong-marked tokens and elsewhere (NaN where no such token was seen). */
export interface GateMeans {
  gate: number;
  gateWrong: number;
  gateOther: number;
}

/** Σ α·m, Σ m, Σ α·m·w, Σ m·w, Σ α·m·(1−w), Σ m·(1−w). */
const SUMS = 6;

/** A run of recorded steps, by record order: [from, to). */
export interface GateWindow {
  from: number;
  to: number;
}

function means(s: ArrayLike<number>): GateMeans {
  return {
    gate: (s[1] as number) > 0 ? (s[0] as number) / (s[1] as number) : NaN,
    gateWrong: (s[3] as number) > 0 ? (s[2] as number) / (s[3] as number) : NaN,
    gateOther: (s[5] as number) > 0 ? (s[4] as number) / (s[5] as number) : NaN,
  };
}

export class GateTrace {
  /** Per flushed step, in order: the step and its mean α over answer tokens (the value given, when a rule gave one α). */
  readonly steps: { step: number; alpha: number }[] = [];
  private buffer: tf.Variable<tf.Rank.R2>;
  /** Steps recorded and not yet flushed, with the α given for them (if one). */
  private pending: { step: number; alpha?: number }[] = [];
  private readonly total = new Float64Array(SUMS);
  /** Each flushed step's six sums, in record order. */
  private readonly sums: Float64Array[] = [];
  /** Record index where the current window starts. */
  private marked = 0;

  /** `capacity`: learner steps expected (the buffer grows if more are recorded). */
  constructor(capacity: number) {
    // Built inside tidy: tf.variable(t) does not release t (the initial zeros would outlive the trace).
    this.buffer = tf.tidy(() => tf.variable(tf.zeros([Math.max(1, capacity), SUMS]), false));
  }

  /**
   * Records the gate of learner step `step`: α per position [N] (or one α for every position). Runs inside the
   * learner step; nothing is read from the device here.
   */
  record(step: number, alpha: tf.Tensor1D | number, b: BatchTensors): void {
    if (step >= this.buffer.shape[0]) {
      const grown = tf.tidy(() => tf.concat([this.buffer, tf.zeros([Math.max(step + 1, 2 * this.buffer.shape[0]) - this.buffer.shape[0], SUMS])]) as tf.Tensor2D);
      this.buffer.dispose();
      this.buffer = tf.variable(grown as tf.Tensor2D, false);
      grown.dispose();
    }
    tf.tidy(() => {
      const a = typeof alpha === 'number' ? tf.fill(b.mask.shape, alpha) : alpha;
      const mw = tf.mul(b.mask, b.wrong);
      const mo = tf.sub(b.mask, mw);
      const sums = tf.stack([tf.sum(tf.mul(a, b.mask)), tf.sum(b.mask), tf.sum(tf.mul(a, mw)), tf.sum(mw), tf.sum(tf.mul(a, mo)), tf.sum(mo)]).expandDims(0);
      const rows = this.buffer.shape[0];
      const here = tf.equal(tf.range(0, rows, 1, 'int32'), tf.scalar(step, 'int32')).expandDims(1);
      this.buffer.assign(tf.where(here, tf.tile(sums, [rows, 1]), this.buffer) as tf.Tensor2D);
    });
    this.pending.push(typeof alpha === 'number' ? { step, alpha } : { step });
  }

  /** Reads the buffer (one device read) and appends every pending step to `steps` and the running sums. */
  async flush(): Promise<void> {
    if (!this.pending.length) return;
    const v = await read(this.buffer);
    for (const p of this.pending) {
      const s = Float64Array.from(v.subarray(p.step * SUMS, (p.step + 1) * SUMS));
      for (let i = 0; i < SUMS; i++) this.total[i] = (this.total[i] as number) + (s[i] as number);
      this.sums.push(s);
      this.steps.push({ step: p.step, alpha: p.alpha ?? means(s).gate });
    }
    this.pending = [];
  }

  /** The steps recorded since the previous mark (then starts a new window); reads nothing. */
  mark(): GateWindow {
    const w = { from: this.marked, to: this.sums.length + this.pending.length };
    this.marked = w.to;
    return w;
  }

  /** Means over a window's steps; they must have been flushed. */
  windowMeans(w: GateWindow): GateMeans {
    if (w.to > this.sums.length) throw new Error(`gate window [${w.from}, ${w.to}) read before its steps were flushed (${this.sums.length} are)`);
    const acc = new Float64Array(SUMS);
    for (let k = w.from; k < w.to; k++) {
      const s = this.sums[k] as Float64Array;
      for (let i = 0; i < SUMS; i++) acc[i] = (acc[i] as number) + (s[i] as number);
    }
    return means(acc);
  }

  /** Means over the steps since the last mark (then starts a new window). */
  async takeWindow(): Promise<GateMeans> {
    const w = this.mark();
    await this.flush();
    return this.windowMeans(w);
  }

  /** Means over every step recorded. */
  async totals(): Promise<GateMeans> {
    await this.flush();
    return means(this.total);
  }

  /**
   * Means over the recorded steps `which` picks (e.g. the meta steps: batches whose targets were built right after
   * the designer updated on that batch's own D).
   */
  async totalsWhere(which: (step: number) => boolean): Promise<GateMeans> {
    await this.flush();
    const acc = new Float64Array(SUMS);
    this.steps.forEach(({ step }, k) => {
      if (!which(step)) return;
      const s = this.sums[k] as Float64Array;
      for (let i = 0; i < SUMS; i++) acc[i] = (acc[i] as number) + (s[i] as number);
    });
    return means(acc);
  }

  /** The usual diagnostics: gate_mean, gate_wrong, gate_other. */
  async diagnostics(): Promise<Record<string, number>> {
    const t = await this.totals();
    return { gate_mean: t.gate, gate_wrong: t.gateWrong, gate_other: t.gateOther };
  }

  dispose(): void {
    this.buffer.dispose();
  }
}
