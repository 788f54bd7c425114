/**
 * AdamW (decoupled weight decay) with global-norm gradient clipping and a warmup + cosine schedule, over a
 * dictionary of variables. Written out because tfjs ships Adam without decoupled decay or clipping.
 */
import * as tf from '@tensorflow/tfjs';
import { globalNorm } from '../engine/ops.js';
import { fastKernels, runVpt } from '../engine/wasm/runtime.js';

/** Optimiser settings. */
export interface AdamWConfig {
  /** Peak learning rate. */
  lr: number;
  /** Default 0.9. */
  beta1: number;
  /** Default 0.95. */
  beta2: number;
  /** Default 1e-8. */
  eps: number;
  /** Decoupled weight decay, applied to matrices only (not norms, biases). Default 0.1. */
  weightDecay: number;
  /** Clip the global gradient norm to this value; 0 disables. Default 1.0. */
  gradClip: number;
  /** Linear warmup steps. */
  warmupSteps: number;
  /** Total steps of the cosine schedule. */
  totalSteps: number;
  /** Final learning rate as a fraction of the peak. Default 0.1. */
  minLrRatio: number;
}

/** Learning rate at step (0-based): linear warmup to `lr`, then cosine down to `lr·minLrRatio`. */
export function scheduledLr(cfg: AdamWConfig, step: number): number {
  if (cfg.warmupSteps > 0 && step < cfg.warmupSteps) return (cfg.lr * (step + 1)) / cfg.warmupSteps;
  const span = Math.max(1, cfg.totalSteps - cfg.warmupSteps);
  const t = Math.min(1, (step - cfg.warmupSteps) / span);
  const min = cfg.lr * cfg.minLrRatio;
  return min + 0.5 * (cfg.lr - min) * (1 + Math.cos(Math.PI * t));
}

/** A non-trainable variable of zeros shaped like `x`; the initial tensor is released (the variable shares its data). */
function zeroVariable(x: tf.Tensor): tf.Variable {
  const zeros = tf.zerosLike(x);
  const v = tf.variable(zeros, false);
  zeros.dispose();
  return v;
}

/**
 * An optimiser's state on the host: the moment estimates per variable and how many updates built them (Adam's bias
 * correction), so a later stage can continue the same optimiser instead of restarting it from zero moments.
 */
export interface AdamWState {
  updates: number;
  m: Record<string, Float32Array>;
  v: Record<string, Float32Array>;
}

export class AdamW {
  private readonly m: Record<string, tf.Variable> = {};
  private readonly v: Record<string, tf.Variable> = {};
  /** Updates the moments hold (bias correction). */
  private t = 0;
  /** Updates taken by this optimiser object (the learning-rate schedule's position). */
  private s = 0;

  constructor(readonly cfg: AdamWConfig, private readonly vars: Record<string, tf.Variable>) {
    for (const [name, x] of Object.entries(vars)) {
      this.m[name] = zeroVariable(x);
      this.v[name] = zeroVariable(x);
    }
  }

  /** Updates this optimiser has taken (the schedule's position; a restored state's updates are not counted). */
  get stepCount(): number {
    return this.s;
  }

  /** The moments and their update count, read to the host. */
  exportState(): AdamWState {
    const read = (r: Record<string, tf.Variable>): Record<string, Float32Array> =>
      Object.fromEntries(Object.entries(r).map(([k, x]) => [k, Float32Array.from(x.dataSync() as Float32Array)]));
    return { updates: this.t, m: read(this.m), v: read(this.v) };
  }

  /**
   * Continues from `state` (the same variables, same shapes): the moments and Adam's bias correction carry on, the
   * learning-rate schedule starts at its own step 0 (a new stage's warm-up and cosine). A missing or misshapen
   * variable is an error naming it.
   */
  restoreState(state: AdamWState): void {
    for (const [name, x] of Object.entries(this.vars)) {
      for (const [which, src, dst] of [['m', state.m, this.m], ['v', state.v, this.v]] as const) {
        const a = src[name];
        if (!a) throw new Error(`optimiser state: no ${which} for variable ${name}`);
        if (a.length !== x.size) throw new Error(`optimiser state: ${which} of ${name} holds ${a.length} values, the variable ${x.size}`);
        tf.tidy(() => (dst[name] as tf.Variable).assign(tf.tensor(a, x.shape)));
      }
    }
    this.t = state.updates;
  }

  /**
   * Applies one update from `grads` (not disposed here). Returns the pre-clip gradient norm as a tensor,
   * so the caller decides when to read it (reading forces a sync).
   */
  apply(grads: Record<string, tf.Tensor>): tf.Scalar {
    const lr = this.nextLr();
    return fastKernels() ? this.applyFused(grads, lr) : this.applyOps(grads, lr);
  }

  /** One update for a caller that does not want the norm: without clipping nothing computes it. */
  update(grads: Record<string, tf.Tensor>): void {
    if (this.cfg.gradClip > 0) {
      this.apply(grads).dispose();
      return;
    }
    const lr = this.nextLr();
    if (fastKernels()) this.fusedUpdate(grads, lr, 1);
    else this.opsUpdate(grads, lr);
  }

  private nextLr(): number {
    const lr = scheduledLr(this.cfg, this.s);
    this.s += 1;
    this.t += 1;
    return lr;
  }

  private applyOps(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    const norm = tf.keep(globalNorm(Object.keys(grads).map((n) => grads[n] as tf.Tensor)));
    this.opsUpdate(grads, lr, norm);
    return norm;
  }

  /** The update in tensor ops, the gradients clipped by `norm` when clipping is on. */
  private opsUpdate(grads: Record<string, tf.Tensor>, lr: number, norm?: tf.Scalar): void {
    const { beta1, beta2, eps, weightDecay, gradClip } = this.cfg;
    const bc1 = 1 - beta1 ** this.t;
    const bc2 = 1 - beta2 ** this.t;
    tf.tidy(() => {
      const scale = gradClip > 0 && norm ? tf.minimum(1, tf.div(gradClip, tf.add(norm, 1e-6))) : tf.scalar(1);
      for (const name of Object.keys(grads)) {
        const g = tf.mul(grads[name] as tf.Tensor, scale);
        const x = this.vars[name] as tf.Variable;
        const m = this.m[name] as tf.Variable;
        const v = this.v[name] as tf.Variable;
        m.assign(tf.add(tf.mul(m, beta1), tf.mul(g, 1 - beta1)));
        v.assign(tf.add(tf.mul(v, beta2), tf.mul(tf.square(g), 1 - beta2)));
        const update = tf.div(tf.div(m, bc1), tf.add(tf.sqrt(tf.div(v, bc2)), eps));
        const decayed = x.shape.length >= 2 && weightDecay > 0 ? tf.mul(x, 1 - lr * weightDecay) : x;
        x.assign(tf.sub(decayed, tf.mul(update, lr)));
      }
    });
  }

  /**
   * The same update on vpt's fused kernel: one pass per parameter instead of ~15 tensor ops, the same float32
   * operations in the same order (the clip scale is computed in JS from the summed squares, rounded to float32).
   */
  private applyFused(grads: Record<string, tf.Tensor>, lr: number): tf.Scalar {
    const { gradClip } = this.cfg;
    const names = Object.keys(grads);
    // Without clipping nothing needs the norm on the host: it stays a device scalar (no synchronous read).
    if (gradClip <= 0) {
      const norm = tf.keep(globalNorm(names.map((n) => grads[n] as tf.Tensor)));
      this.fusedUpdate(grads, lr, 1);
      return norm;
    }
    let sq = 0;
    for (const n of names) sq += tf.tidy(() => runVpt('VptSumSq', { x: grads[n] as tf.Tensor }).dataSync()[0] as number);
    const norm = Math.fround(Math.sqrt(sq));
    const f = Math.fround;
    this.fusedUpdate(grads, lr, Math.min(1, f(f(gradClip) / f(norm + f(1e-6)))));
    return tf.keep(tf.scalar(norm));
  }

  /** One fused AdamW pass per parameter with the gradients scaled by `gscale`. */
  private fusedUpdate(grads: Record<string, tf.Tensor>, lr: number, gscale: number): void {
    const { beta1, beta2, eps, weightDecay } = this.cfg;
    const names = Object.keys(grads);
    tf.tidy(() => {
      for (const name of names) {
        const x = this.vars[name] as tf.Variable;
        const m = this.m[name] as tf.Variable;
        const v = this.v[name] as tf.Variable;
        const decay = x.shape.length >= 2 && weightDecay > 0 ? 1 - lr * weightDecay : 1;
        const [xo, mo, vo] = runVpt<tf.Tensor[]>('VptAdamW', { x, g: grads[name] as tf.Tensor, m, v }, {
          gscale, b1: beta1, c1: 1 - beta1, b2: beta2, c2: 1 - beta2, bc1: 1 - beta1 ** this.t, bc2: 1 - beta2 ** this.t, eps, lr, decay,
        }) as [tf.Tensor, tf.Tensor, tf.Tensor];
        m.assign(mo);
        v.assign(vo);
        x.assign(xo);
      }
    });
  }

  dispose(): void {
    for (const t of [...Object.values(this.m), ...Object.values(this.v)]) t.dispose();
  }
}
