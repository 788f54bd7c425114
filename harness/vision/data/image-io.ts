/**
 * Decoding and resizing for the vision loaders, pure JS: `fast-png` (8- and 16-bit PNG, exact) and `jpeg-js`
 * (baseline/progressive JPEG, grayscale and Adobe CMYK). The format is read from the magic bytes, never from
 * the file extension (one ImageNet "JPEG" is a PNG).
 *
 * Resizing is part of loading: the shorter side is scaled to the target and the centre square kept. RGB is
 * area-averaged over each output pixel's footprint (no aliasing when shrinking 640×480 to 32×32); labels and
 * depth take the source pixel under each output pixel's centre (nearest), so classes never blend and missing
 * depth (0) never mixes into valid depth.
 */
import { decode as decodePng } from 'fast-png';
import jpeg from 'jpeg-js';
import { readFileSync } from 'node:fs';

/** A decoded raster: `channels` samples per pixel, 8- or 16-bit values. */
export interface Raster {
  width: number;
  height: number;
  channels: number;
  /** Bits per sample (8 or 16). */
  bitDepth: number;
  data: Uint8Array | Uint16Array | Uint8ClampedArray;
}

export type ImageFormat = 'png' | 'jpeg';

/** Format from the first bytes, or undefined. */
export function sniffFormat(buf: Uint8Array): ImageFormat | undefined {
  if (buf.length >= 8 && buf[0] === 0x89 && buf[1] === 0x50 && buf[2] === 0x4e && buf[3] === 0x47) return 'png';
  if (buf.length >= 3 && buf[0] === 0xff && buf[1] === 0xd8 && buf[2] === 0xff) return 'jpeg';
  return undefined;
}

/** One line naming the file and what is wrong with it. */
export class BadImageError extends Error {
  constructor(readonly file: string, reason: string) {
    super(`${file}: ${reason}`);
  }
}

function firstLine(e: unknown): string {
  return (e instanceof Error ? e.message : String(e)).split('\n')[0] as string;
}

/** Decodes a PNG or JPEG buffer; `file` names it in errors. */
export function decodeImage(buf: Uint8Array, file: string): Raster {
  const format = sniffFormat(buf);
  if (!format) {
    const head = Array.from(buf.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
    throw new BadImageError(file, `not a PNG or JPEG (starts with ${head || 'nothing'})`);
  }
  try {
    if (format === 'png') {
      const p = decodePng(buf);
      if (p.palette) {
        // Palette images: expand indices to RGB(A).
        const pal = p.palette;
        const n = p.width * p.height;
        const ch = (pal[0]?.length ?? 3) as number;
        const out = new Uint8Array(n * ch);
        for (let i = 0; i < n; i++) {
          const entry = pal[p.data[i] as number];
          if (!entry) throw new Error(`palette index ${p.data[i]} out of range`);
          for (let c = 0; c < ch; c++) out[i * ch + c] = entry[c] as number;
        }
        return { width: p.width, height: p.height, channels: ch, bitDepth: 8, data: out };
      }
      return { width: p.width, height: p.height, channels: p.channels, bitDepth: p.depth, data: p.data as Uint8Array | Uint16Array };
    }
    const j = jpeg.decode(buf, { useTArray: true, formatAsRGBA: false, maxMemoryUsageInMB: 1024 });
    return { width: j.width, height: j.height, channels: 3, bitDepth: 8, data: j.data };
  } catch (e) {
    throw new BadImageError(file, `cannot decode as ${format.toUpperCase()}: ${firstLine(e)}`);
  }
}

export function readImage(file: string): Raster {
  let buf: Buffer;
  try {
    buf = readFileSync(file);
  } catch (e) {
    throw new BadImageError(file, `cannot read: ${firstLine(e)}`);
  }
  return decodeImage(buf, file);
}

/** RGB in [0, 1] from any raster (gray replicated, alpha dropped, 16-bit scaled by 65535). */
export function toRgbFloat(r: Raster): Float32Array {
  const n = r.width * r.height;
  const out = new Float32Array(n * 3);
  const scale = r.bitDepth === 16 ? 1 / 65535 : 1 / 255;
  const ch = r.channels;
  for (let i = 0; i < n; i++) {
    for (let c = 0; c < 3; c++) {
      const src = ch >= 3 ? c : 0;
      out[i * 3 + c] = (r.data[i * ch + src] as number) * scale;
    }
  }
  return out;
}

/** The centre square of a w×h image: origin and side, in source pixels. */
export function centreSquare(w: number, h: number): { x0: number; y0: number; side: number } {
  const side = Math.min(w, h);
  return { x0: (w - side) / 2, y0: (h - side) / 2, side };
}

/** For each output index, the source indices and weights covering [lo + i·step, lo + (i+1)·step). */
function areaTaps(lo: number, side: number, out: number, limit: number): { idx: number[]; w: number[] }[] {
  const step = side / out;
  const taps: { idx: number[]; w: number[] }[] = [];
  for (let i = 0; i < out; i++) {
    const a = lo + i * step;
    const b = a + step;
    const idx: number[] = [];
    const w: number[] = [];
    for (let s = Math.floor(a); s < Math.ceil(b); s++) {
      const cover = Math.min(b, s + 1) - Math.max(a, s);
      if (cover > 0) {
        idx.push(Math.min(limit - 1, Math.max(0, s)));
        w.push(cover / step);
      }
    }
    taps.push({ idx, w });
  }
  return taps;
}

/** RGB [h, w, 3] -> centre square resized to size×size by area averaging. */
export function resizeRgbArea(rgb: Float32Array, w: number, h: number, size: number): Float32Array {
  const { x0, y0, side } = centreSquare(w, h);
  const tx = areaTaps(x0, side, size, w);
  const ty = areaTaps(y0, side, size, h);
  // Columns first (h × size), then rows.
  const tmp = new Float32Array(h * size * 3);
  for (let y = 0; y < h; y++) for (let j = 0; j < size; j++) {
    const t = tx[j] as { idx: number[]; w: number[] };
    for (let c = 0; c < 3; c++) {
      let acc = 0;
      for (let k = 0; k < t.idx.length; k++) acc += (t.w[k] as number) * (rgb[(y * w + (t.idx[k] as number)) * 3 + c] as number);
      tmp[(y * size + j) * 3 + c] = acc;
    }
  }
  const out = new Float32Array(size * size * 3);
  for (let i = 0; i < size; i++) {
    const t = ty[i] as { idx: number[]; w: number[] };
    for (let j = 0; j < size; j++) for (let c = 0; c < 3; c++) {
      let acc = 0;
      for (let k = 0; k < t.idx.length; k++) acc += (t.w[k] as number) * (tmp[((t.idx[k] as number) * size + j) * 3 + c] as number);
      out[(i * size + j) * 3 + c] = acc;
    }
  }
  return out;
}

/** Single-channel map [h, w] -> centre square resized to size×size by nearest (pixel-centre) sampling. */
export function resizeNearest<T extends Uint8Array | Uint16Array | Float32Array>(src: T, w: number, h: number, size: number, make: (n: number) => T): T {
  const { x0, y0, side } = centreSquare(w, h);
  const out = make(size * size);
  const step = side / size;
  for (let i = 0; i < size; i++) {
    const sy = Math.min(h - 1, Math.floor(y0 + (i + 0.5) * step));
    for (let j = 0; j < size; j++) {
      const sx = Math.min(w - 1, Math.floor(x0 + (j + 0.5) * step));
      out[i * size + j] = src[sy * w + sx] as number;
    }
  }
  return out;
}

/** The first channel of a raster (label and depth maps are single-channel; extra channels are rejected). */
export function singleChannel(r: Raster, file: string): Uint8Array | Uint16Array {
  if (r.channels !== 1) throw new BadImageError(file, `expected a single-channel map, found ${r.channels} channels`);
  return r.data instanceof Uint16Array ? r.data : new Uint8Array(r.data.buffer, r.data.byteOffset, r.data.length);
}
