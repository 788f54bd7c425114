/**
 * Bilinear resizing of probe logits to the label size with half-pixel centres (PyTorch align_corners=False,
 * as mmseg resizes logits), written as two 2-D matmuls with a fixed interpolation matrix per axis.
 * Why not tf.image.resizeBilinear: in tfjs 4.22 its gradient ignores halfPixelCenters (measured on wasm and
 * cpu: a directional derivative of 70.3 against 21.3 by finite differences), and matMul2d is the fast path.
 */
import * as tf from '@tensorflow/tfjs';
import { matMul2d } from '../../engine/ops.js';

/** [out, in] weights: output i samples input at (i + 0.5)·in/out − 0.5, clamped to [0, in − 1]. */
export function bilinearMatrix(inSize: number, outSize: number): Float32Array {
  const m = new Float32Array(outSize * inSize);
  const scale = inSize / outSize;
  for (let i = 0; i < outSize; i++) {
    const src = Math.max(0, (i + 0.5) * scale - 0.5);
    const lo = Math.min(inSize - 1, Math.floor(src));
    const hi = Math.min(inSize - 1, lo + 1);
    const f = src - lo;
    m[i * inSize + lo]! += 1 - f;
    m[i * inSize + hi]! += f;
  }
  return m;
}

const cache = new Map<string, tf.Tensor2D>();
/** The [out, in] matrix, or its transpose [in, out] (the adjoint of upsampling), kept for the process. */
function matrix(inSize: number, outSize: number, transposed = false): tf.Tensor2D {
  const key = `${inSize}->${outSize}${transposed ? 'ᵀ' : ''}`;
  let m = cache.get(key);
  if (!m) {
    m = tf.keep(transposed
      ? tf.tidy(() => tf.transpose(matrix(inSize, outSize)) as tf.Tensor2D)
      : tf.tensor2d(bilinearMatrix(inSize, outSize), [outSize, inSize]));
    cache.set(key, m);
  }
  return m;
}

/** x [N, a, a, C] -> [N, b, b, C] with the per-axis matrix M [b, a] applied to rows and columns. */
function separable(x: tf.Tensor4D, M: tf.Tensor2D): tf.Tensor4D {
  const [N, a, a2, C] = x.shape;
  if (a !== a2) throw new Error(`bilinear resizing expects a square grid, got ${a}×${a2}`);
  const b = M.shape[0];
  // Rows: [a, N·a·C] -> [b, N·a·C].
  const rows = matMul2d(M, tf.transpose(x.reshape([N, a, a * C]), [1, 0, 2]).reshape([a, N * a * C]) as tf.Tensor2D);
  // Columns: [a, b·N·C] -> [b, b·N·C].
  const cols = matMul2d(M, tf.transpose(rows.reshape([b, N, a, C]), [2, 0, 1, 3]).reshape([a, b * N * C]) as tf.Tensor2D);
  return tf.transpose(cols.reshape([b, b, N, C]), [2, 1, 0, 3]) as tf.Tensor4D;
}

/** x [N, g, g, C] -> [N, L, L, C], bilinear with half-pixel centres; differentiable on the fast path. */
export function upsampleBilinear(x: tf.Tensor4D, L: number): tf.Tensor4D {
  return separable(x, matrix(x.shape[1], L));
}

/**
 * The adjoint (transpose) of `upsampleBilinear` from a g-grid: z [N, L, L, C] -> [N, g, g, C] with
 * ⟨upsampleBilinear(x), z⟩ = ⟨x, upsampleAdjoint(z, g)⟩. It brings pixel-level sums back to the grid, so a
 * least-squares fit on upsampled features can be accumulated at grid size.
 */
export function upsampleAdjoint(z: tf.Tensor4D, g: number): tf.Tensor4D {
  return separable(z, matrix(g, z.shape[1], true));
}
