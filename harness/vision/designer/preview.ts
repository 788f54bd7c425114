/**
 * A look at the masks: one PNG (fast-png) with a row per image: the image, its mask μ in grey (white = kept,
 * black = blurred away) and the view the student sees, μ⊙v + (1−μ)⊙Blur(v), each enlarged `scale`× with
 * nearest-neighbour pixels.
 */
import { encode } from 'fast-png';
import { gaussianBlur } from '../augment.js';

/** The student's view of host images [n,S,S,3] in [0,1] under masks [n,S,S] (strength as in maskedViews). */
export function hostMaskedViews(images: Float32Array, masks: Float32Array, n: number, S: number, blurSigma: number, strength: number): Float32Array {
  const out = new Float32Array(n * S * S * 3);
  const px = S * S * 3;
  for (let i = 0; i < n; i++) {
    const img = images.subarray(i * px, (i + 1) * px);
    const blurred = gaussianBlur(img, S, blurSigma);
    for (let j = 0; j < S * S; j++) {
      const m = 1 - strength * (1 - (masks[i * S * S + j] as number));
      for (let c = 0; c < 3; c++) out[i * px + 3 * j + c] = m * (img[3 * j + c] as number) + (1 - m) * (blurred[3 * j + c] as number);
    }
  }
  return out;
}

/** PNG bytes of the image | mask | view grid for n images of side S. */
export function maskPreviewPng(images: Float32Array, masks: Float32Array, n: number, S: number, blurSigma: number, strength: number, scale = 4): Uint8Array {
  const views = hostMaskedViews(images, masks, n, S, blurSigma, strength);
  const gap = 2;
  const cell = S * scale;
  const width = 3 * cell + 4 * gap;
  const height = n * cell + (n + 1) * gap;
  const data = new Uint8Array(width * height * 3).fill(255);
  const to8 = (v: number): number => Math.round(255 * Math.min(1, Math.max(0, v)));
  const put = (x0: number, y0: number, pixel: (y: number, x: number, c: number) => number): void => {
    for (let y = 0; y < cell; y++) for (let x = 0; x < cell; x++) for (let c = 0; c < 3; c++) {
      data[((y0 + y) * width + x0 + x) * 3 + c] = to8(pixel(Math.floor(y / scale), Math.floor(x / scale), c));
    }
  };
  const px = S * S * 3;
  for (let i = 0; i < n; i++) {
    const y0 = gap + i * (cell + gap);
    put(gap, y0, (y, x, c) => images[i * px + (y * S + x) * 3 + c] as number);
    put(2 * gap + cell, y0, (y, x) => masks[i * S * S + y * S + x] as number);
    put(3 * gap + 2 * cell, y0, (y, x, c) => views[i * px + (y * S + x) * 3 + c] as number);
  }
  return encode({ width, height, data, channels: 3, depth: 8 });
}
