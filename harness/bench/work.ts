/**
 * Work in multiply-adds, counted from the matMul kernels that tf.profile records (their input and output shapes),
 * not modelled from a formula: what a step or a piece of one costs regardless of how fast a backend runs it. Set
 * beside a time ratio it says whether a piece is slow because it does much or because its kernels run slowly
 * (small matrices, bookkeeping), and it bounds what any speed-up of the same computation can reach.
 */
import * as tf from '@tensorflow/tfjs';

/** Kernels that multiply matrices: vpt's wasm kernel and tfjs's own (stock backends, fused). */
const MATMUL_KERNELS = new Set(['VptMatMul', 'BatchMatMul', 'MatMul', '_FusedMatMul']);

/** The part of a profiled kernel this counts from. */
export interface KernelShapes {
  name: string;
  inputShapes: number[][];
  outputShapes: number[][];
}

const sizeOf = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/**
 * Multiply-adds of one kernel: out elements × the contracted length; 0 for a kernel that is not a matMul. The
 * contracted length is read from whichever operand is not broadcast (an operand's size × the other output dim ÷
 * the output's size), so transposed operands and batch dims present on one side only count right.
 */
export function matMulMacs(k: KernelShapes): number {
  if (!MATMUL_KERNELS.has(k.name)) return 0;
  const [a, b] = k.inputShapes;
  const out = k.outputShapes[0];
  if (!a || !b || !out || out.length < 2) return 0;
  const outSize = sizeOf(out);
  if (outSize === 0) return 0;
  const n = out[out.length - 1] as number;
  const m = out[out.length - 2] as number;
  const contracted = Math.max((sizeOf(a) * n) / outSize, (sizeOf(b) * m) / outSize);
  return outSize * contracted;
}

/** Multiply-adds of every matMul `f` runs (synchronously; its results are its own to dispose). */
export async function countMacs(f: () => void): Promise<number> {
  const p = await tf.profile(f);
  return p.kernels.reduce((a, k) => a + matMulMacs(k), 0);
}

/** The work of one learner step of an arm, in multiply-adds (a bench run records it). */
export interface StepWork {
  /** A learner step without a meta step: forward, targets, backward, update. */
  learner: number;
  /** A meta step (mean over the counted ones); null for arms without a designer. */
  meta: number | null;
  /** g_down on one feedback batch (mean over the counted batches); null for arms without a designer. */
  gDown: number | null;
  /** Feedback problems per g_down batch; null for arms without a designer. */
  feedbackBatch: number | null;
}
