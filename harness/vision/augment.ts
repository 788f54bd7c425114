/**
 * DINO's multi-crop augmentations, computed on host arrays from the seeded Rng (outside any gradient tape):
 * random resized crop + horizontal flip, colour jitter (p 0.8), grayscale (p 0.2), Gaussian blur (p 1.0 / 0.1 /
 * 0.5 for global 1 / global 2 / local), solarisation (global 2, p 0.2), then per-channel normalisation.
 * Images are Float32Array in HWC order with values in [0, 1].
 */
import { Rng } from '../engine/rng.js';

/** Multi-crop and augmentation settings. Defaults scale DINO's 224-px recipe to 32-px images. */
export interface AugmentConfig {
  /** Side of the two global crops (the model's imageSize). Default 32. */
  globalSize: number;
  /** Side of the local crops; a multiple of the patch size. Default 16. */
  localSize: number;
  /** Local crops per image. Default 4. */
  nLocal: number;
  /** Area fraction range of global crops. Default [0.4, 1]. */
  globalScale: [number, number];
  /** Area fraction range of local crops. Default [0.05, 0.4]. */
  localScale: [number, number];
  /** Probability of applying colour jitter. Default 0.8. */
  jitterP: number;
  /** Jitter strengths (torchvision ColorJitter factors). Defaults 0.4, 0.4, 0.2, 0.1. */
  brightness: number;
  contrast: number;
  saturation: number;
  hue: number;
  /** Probability of grayscale. Default 0.2. */
  grayscaleP: number;
  /** Blur σ range in output pixels. Default [0.1, 0.3]: DINO's [0.1, 2.0] at 224 px, scaled to 32 px. */
  blurSigma: [number, number];
  /** Blur probability for global view 1, global view 2, local views. Default [1.0, 0.1, 0.5]. */
  blurP: [number, number, number];
  /** Solarisation probability of global view 2. Default 0.2. */
  solarizeP: number;
}

export const DEFAULT_AUGMENT: AugmentConfig = {
  globalSize: 32, localSize: 16, nLocal: 4, globalScale: [0.4, 1], localScale: [0.05, 0.4],
  jitterP: 0.8, brightness: 0.4, contrast: 0.4, saturation: 0.2, hue: 0.1, grayscaleP: 0.2,
  blurSigma: [0.1, 0.3], blurP: [1.0, 0.1, 0.5], solarizeP: 0.2,
};

/** Per-channel normalisation (ImageNet statistics, as DINO uses). */
export const CHANNEL_MEAN = [0.485, 0.456, 0.406] as const;
export const CHANNEL_STD = [0.229, 0.224, 0.225] as const;

/** A pool of square RGB images, [n, size, size, 3] in [0, 1]. */
export interface ImagePool {
  n: number;
  size: number;
  data: Float32Array;
}

/** One image's pixels (a view into the pool, no copy). */
export function imageAt(pool: ImagePool, i: number): Float32Array {
  const len = pool.size * pool.size * 3;
  return pool.data.subarray(i * len, (i + 1) * len);
}

/**
 * Bilinear resample of the box (y0, x0, h, w) of a square image of side `S` to `out`×`out`, optionally mirrored.
 * Sample points are pixel centres; coordinates outside the image clamp to the border.
 */
export function cropResize(src: Float32Array, S: number, y0: number, x0: number, h: number, w: number, out: number, flip: boolean): Float32Array {
  const dst = new Float32Array(out * out * 3);
  for (let i = 0; i < out; i++) {
    const sy = Math.min(S - 1, Math.max(0, y0 + ((i + 0.5) * h) / out - 0.5));
    const ya = Math.floor(sy);
    const yb = Math.min(S - 1, ya + 1);
    const fy = sy - ya;
    for (let j = 0; j < out; j++) {
      const jj = flip ? out - 1 - j : j;
      const sx = Math.min(S - 1, Math.max(0, x0 + ((jj + 0.5) * w) / out - 0.5));
      const xa = Math.floor(sx);
      const xb = Math.min(S - 1, xa + 1);
      const fx = sx - xa;
      for (let c = 0; c < 3; c++) {
        const v00 = src[(ya * S + xa) * 3 + c] as number;
        const v01 = src[(ya * S + xb) * 3 + c] as number;
        const v10 = src[(yb * S + xa) * 3 + c] as number;
        const v11 = src[(yb * S + xb) * 3 + c] as number;
        dst[(i * out + j) * 3 + c] = (1 - fy) * ((1 - fx) * v00 + fx * v01) + fy * ((1 - fx) * v10 + fx * v11);
      }
    }
  }
  return dst;
}

/** torchvision RandomResizedCrop's box choice (10 tries, then the whole image), aspect ratio in [3/4, 4/3]. */
export function randomBox(S: number, scale: [number, number], rng: Rng): { y0: number; x0: number; h: number; w: number } {
  const area = S * S;
  for (let t = 0; t < 10; t++) {
    const a = area * (scale[0] + (scale[1] - scale[0]) * rng.next());
    const logR = Math.log(3 / 4) + (Math.log(4 / 3) - Math.log(3 / 4)) * rng.next();
    const r = Math.exp(logR);
    const w = Math.sqrt(a * r);
    const h = Math.sqrt(a / r);
    if (w <= S && h <= S) return { y0: rng.next() * (S - h), x0: rng.next() * (S - w), h, w };
  }
  return { y0: 0, x0: 0, h: S, w: S };
}

const clamp01 = (v: number): number => (v < 0 ? 0 : v > 1 ? 1 : v);
const luma = (r: number, g: number, b: number): number => 0.299 * r + 0.587 * g + 0.114 * b;

/** Colour jitter in place: brightness, contrast, saturation, hue (a chroma rotation in YIQ), in that order. */
export function colorJitter(img: Float32Array, cfg: AugmentConfig, rng: Rng): void {
  const n = img.length / 3;
  const factor = (s: number): number => 1 - s + 2 * s * rng.next();
  const bf = factor(cfg.brightness);
  const cf = factor(cfg.contrast);
  const sf = factor(cfg.saturation);
  const theta = (2 * rng.next() - 1) * cfg.hue * 2 * Math.PI;
  let meanLuma = 0;
  for (let i = 0; i < n; i++) meanLuma += luma(img[3 * i] as number, img[3 * i + 1] as number, img[3 * i + 2] as number);
  meanLuma = (meanLuma / n) * bf;
  const cos = Math.cos(theta);
  const sin = Math.sin(theta);
  for (let i = 0; i < n; i++) {
    let r = clamp01((img[3 * i] as number) * bf);
    let g = clamp01((img[3 * i + 1] as number) * bf);
    let b = clamp01((img[3 * i + 2] as number) * bf);
    r = clamp01(cf * r + (1 - cf) * meanLuma);
    g = clamp01(cf * g + (1 - cf) * meanLuma);
    b = clamp01(cf * b + (1 - cf) * meanLuma);
    const y = luma(r, g, b);
    r = clamp01(sf * r + (1 - sf) * y);
    g = clamp01(sf * g + (1 - sf) * y);
    b = clamp01(sf * b + (1 - sf) * y);
    // Hue: rotate the (I, Q) chroma plane.
    const yy = 0.299 * r + 0.587 * g + 0.114 * b;
    const ii = 0.596 * r - 0.274 * g - 0.322 * b;
    const qq = 0.211 * r - 0.523 * g + 0.312 * b;
    const i2 = cos * ii - sin * qq;
    const q2 = sin * ii + cos * qq;
    img[3 * i] = clamp01(yy + 0.956 * i2 + 0.621 * q2);
    img[3 * i + 1] = clamp01(yy - 0.272 * i2 - 0.647 * q2);
    img[3 * i + 2] = clamp01(yy - 1.106 * i2 + 1.703 * q2);
  }
}

export function grayscale(img: Float32Array): void {
  for (let i = 0; i < img.length; i += 3) {
    const y = luma(img[i] as number, img[i + 1] as number, img[i + 2] as number);
    img[i] = y;
    img[i + 1] = y;
    img[i + 2] = y;
  }
}

export function solarize(img: Float32Array, threshold = 0.5): void {
  for (let i = 0; i < img.length; i++) if ((img[i] as number) >= threshold) img[i] = 1 - (img[i] as number);
}

/** Normalised 1-D Gaussian taps of radius ⌈3σ⌉. */
export function gaussianTaps(sigma: number): Float32Array {
  const r = Math.max(1, Math.ceil(3 * sigma));
  const taps = new Float32Array(2 * r + 1);
  let sum = 0;
  for (let k = -r; k <= r; k++) sum += taps[k + r] = Math.exp((-k * k) / (2 * sigma * sigma));
  for (let k = 0; k < taps.length; k++) taps[k] = (taps[k] as number) / sum;
  return taps;
}

/** Separable Gaussian blur of one S×S×3 image with reflected borders; returns a new array. */
export function gaussianBlur(img: Float32Array, S: number, sigma: number): Float32Array {
  const taps = gaussianTaps(sigma);
  const r = (taps.length - 1) / 2;
  const reflect = (i: number): number => {
    let k = i;
    while (k < 0 || k >= S) k = k < 0 ? -k : 2 * (S - 1) - k;
    return k;
  };
  const tmp = new Float32Array(img.length);
  const out = new Float32Array(img.length);
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += (taps[k + r] as number) * (img[(y * S + reflect(x + k)) * 3 + c] as number);
    tmp[(y * S + x) * 3 + c] = acc;
  }
  for (let y = 0; y < S; y++) for (let x = 0; x < S; x++) for (let c = 0; c < 3; c++) {
    let acc = 0;
    for (let k = -r; k <= r; k++) acc += (taps[k + r] as number) * (tmp[(reflect(y + k) * S + x) * 3 + c] as number);
    out[(y * S + x) * 3 + c] = acc;
  }
  return out;
}

/** In place: (x − mean) / std per channel. */
export function normalizeChannels(img: Float32Array): void {
  for (let i = 0; i < img.length; i++) {
    const c = i % 3;
    img[i] = ((img[i] as number) - (CHANNEL_MEAN[c] as number)) / (CHANNEL_STD[c] as number);
  }
}

/** Normalised copy of images [n, S, S, 3] in [0, 1] (the model's input, no augmentation). */
export function normalizedCopy(data: Float32Array): Float32Array {
  const out = new Float32Array(data);
  normalizeChannels(out);
  return out;
}

/** One augmented view: crop, flip, jitter, grayscale, blur, solarise, normalise. */
function augmentedView(src: Float32Array, S: number, out: number, scale: [number, number], blurP: number, solarizeP: number, cfg: AugmentConfig, rng: Rng): Float32Array {
  const box = randomBox(S, scale, rng);
  let v = cropResize(src, S, box.y0, box.x0, box.h, box.w, out, rng.next() < 0.5);
  if (rng.next() < cfg.jitterP) colorJitter(v, cfg, rng);
  if (rng.next() < cfg.grayscaleP) grayscale(v);
  if (rng.next() < blurP) v = gaussianBlur(v, out, cfg.blurSigma[0] + (cfg.blurSigma[1] - cfg.blurSigma[0]) * rng.next());
  if (rng.next() < solarizeP) solarize(v);
  normalizeChannels(v);
  return v;
}

/** A batch of multi-crop views as host arrays, view-major (rows v·B .. v·B+B−1 are view v of every image). */
export interface HostCrops {
  B: number;
  /** [2·B, globalSize, globalSize, 3]. */
  global: Float32Array;
  /** [nLocal·B, localSize, localSize, 3]. */
  local: Float32Array;
}

/** The 2 global and `nLocal` local views of pool images `indices`, drawn from `rng` image by image. */
export function makeCrops(pool: ImagePool, indices: readonly number[], cfg: AugmentConfig, rng: Rng): HostCrops {
  const B = indices.length;
  const gLen = cfg.globalSize * cfg.globalSize * 3;
  const lLen = cfg.localSize * cfg.localSize * 3;
  const global = new Float32Array(2 * B * gLen);
  const local = new Float32Array(cfg.nLocal * B * lLen);
  indices.forEach((idx, b) => {
    const src = imageAt(pool, idx);
    for (let v = 0; v < 2; v++) {
      const view = augmentedView(src, pool.size, cfg.globalSize, cfg.globalScale, cfg.blurP[v] as number, v === 1 ? cfg.solarizeP : 0, cfg, rng);
      global.set(view, (v * B + b) * gLen);
    }
    for (let v = 0; v < cfg.nLocal; v++) {
      const view = augmentedView(src, pool.size, cfg.localSize, cfg.localScale, cfg.blurP[2], 0, cfg, rng);
      local.set(view, (v * B + b) * lLen);
    }
  });
  return { B, global, local };
}
