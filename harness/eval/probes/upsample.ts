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
function matrix(inSize: number, outSize: number): tf.Tensor2D {
  const key = `${inSize}->${outSize}`;
  let m = cache.get(key);
  if (!m) {
    m = tf.keep(tf.tensor2d(bilinearMatrix(inSize, outSize), [outSize, inSize]));
    cache.set(key, m);
  }
  return m;
}

/** x [N, g, g, C] -> [N, L, L, C], bilinear with half-pixel centres; differentiable on the fast path. */
export function upsampleBilinear(x: tf.Tensor4D, L: number): tf.Tensor4D {
  const [N, g, g2, C] = x.shape;
  if (g !== g2) throw new Error(`upsampleBilinear expects a square grid, got ${g}×${g2}`);
  const R = matrix(g, L);
  // Rows: [g, N·g·C] -> [L, N·g·C].
  const rows = matMul2d(R, tf.transpose(x.reshape([N, g, g * C]), [1, 0, 2]).reshape([g, N * g * C]) as tf.Tensor2D);
  // Columns: [g, L·N·C] -> [L, L·N·C].
  const cols = matMul2d(R, tf.transpose(rows.reshape([L, N, g, C]), [2, 0, 1, 3]).reshape([g, L * N * C]) as tf.Tensor2D);
  return tf.transpose(cols.reshape([L, L, N, C]), [2, 1, 0, 3]) as tf.Tensor4D;
}
