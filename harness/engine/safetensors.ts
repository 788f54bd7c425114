/**
 * safetensors reader/writer (the format other tools read): u64-LE header length, a JSON header mapping
 * tensor names to {dtype, shape, data_offsets}, then the raw little-endian bytes. Model weights are F32 here
 * (BF16 and F16 files, as Hugging Face checkpoints ship, are widened to F32 when read); the trainer protocol's
 * inputs also carry I32 token ids and U8 flags.
 */
import { readFileSync } from 'node:fs';
import { writeFileAtomic } from '../results/atomic.js';

/** A float32 tensor: what model weights are in memory. */
export interface NamedArray {
  shape: number[];
  data: Float32Array;
}

/** A tensor of any dtype this module writes: F32, I32 or U8 by its array type. */
export interface TypedArrayTensor {
  shape: number[];
  data: Float32Array | Int32Array | Uint8Array;
}

function dtypeOf(data: TypedArrayTensor['data']): 'F32' | 'I32' | 'U8' {
  if (data instanceof Float32Array) return 'F32';
  if (data instanceof Int32Array) return 'I32';
  return 'U8';
}

export function encodeSafetensors(tensors: Record<string, TypedArrayTensor>, metadata: Record<string, string> = {}): Buffer {
  const names = Object.keys(tensors).sort();
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const name of names) {
    const t = tensors[name] as TypedArrayTensor;
    const expected = t.shape.reduce((a, b) => a * b, 1);
    if (expected !== t.data.length) throw new Error(`tensor '${name}': shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    header[name] = { dtype: dtypeOf(t.data), shape: t.shape, data_offsets: [offset, offset + t.data.byteLength] };
    offset += t.data.byteLength;
  }
  let json = JSON.stringify(header);
  while ((8 + Buffer.byteLength(json)) % 8 !== 0) json += ' ';
  const headerBytes = Buffer.from(json, 'utf8');
  const out = Buffer.alloc(8 + headerBytes.length + offset);
  out.writeBigUInt64LE(BigInt(headerBytes.length), 0);
  headerBytes.copy(out, 8);
  let pos = 8 + headerBytes.length;
  for (const name of names) {
    const t = tensors[name] as TypedArrayTensor;
    Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength).copy(out, pos);
    pos += t.data.byteLength;
  }
  return out;
}

/** F32 values of 16-bit floats: bfloat16 is the top half of a float32; float16 is widened by its fields. */
function widen(bytes: Buffer, dtype: 'BF16' | 'F16'): Float32Array {
  const n = bytes.length / 2;
  const out = new Float32Array(n);
  if (dtype === 'BF16') {
    const bits = new Uint32Array(out.buffer);
    for (let i = 0; i < n; i++) bits[i] = bytes.readUInt16LE(2 * i) << 16;
    return out;
  }
  for (let i = 0; i < n; i++) {
    const h = bytes.readUInt16LE(2 * i);
    const sign = h & 0x8000 ? -1 : 1;
    const exp = (h >> 10) & 0x1f;
    const frac = h & 0x3ff;
    out[i] = exp === 0 ? sign * 2 ** -14 * (frac / 1024) : exp === 31 ? (frac ? NaN : sign * Infinity) : sign * 2 ** (exp - 15) * (1 + frac / 1024);
  }
  return out;
}

/** Every tensor with its dtype's array (F32, BF16 and F16 as Float32Array; I32; U8 and BOOL as Uint8Array). */
export function decodeSafetensorsTyped(buf: Buffer, source = '<buffer>'): { tensors: Record<string, TypedArrayTensor>; metadata: Record<string, string> } {
  if (buf.length < 8) throw new Error(`${source}: not a safetensors file (too short)`);
  const n = Number(buf.readBigUInt64LE(0));
  if (8 + n > buf.length) throw new Error(`${source}: header length ${n} runs past the end of the file`);
  const header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  const base = 8 + n;
  const tensors: Record<string, TypedArrayTensor> = {};
  let metadata: Record<string, string> = {};
  for (const [name, entry] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = entry as Record<string, string>;
      continue;
    }
    const e = entry as { dtype: string; shape: number[]; data_offsets: [number, number] };
    const [start, end] = e.data_offsets;
    if (base + end > buf.length) throw new Error(`${source}: tensor '${name}' runs past the end of the file (truncated?)`);
    const bytes = buf.subarray(base + start, base + end);
    let data: TypedArrayTensor['data'];
    if (e.dtype === 'F32') {
      data = new Float32Array(bytes.length / 4);
      Buffer.from(data.buffer).set(bytes);
    } else if (e.dtype === 'BF16' || e.dtype === 'F16') {
      data = widen(bytes, e.dtype);
    } else if (e.dtype === 'I32') {
      data = new Int32Array(bytes.length / 4);
      Buffer.from(data.buffer).set(bytes);
    } else if (e.dtype === 'U8' || e.dtype === 'BOOL') {
      data = Uint8Array.from(bytes);
    } else {
      throw new Error(`${source}: tensor '${name}' has dtype ${e.dtype}; vpt reads F32, BF16, F16, I32, U8 and BOOL`);
    }
    tensors[name] = { shape: e.shape, data };
  }
  return { tensors, metadata };
}

/** Float tensors only (model weights): F32, or BF16/F16 widened to F32; any other dtype is an error naming it. */
export function decodeSafetensors(buf: Buffer, source = '<buffer>'): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  const { tensors, metadata } = decodeSafetensorsTyped(buf, source);
  const out: Record<string, NamedArray> = {};
  for (const [name, t] of Object.entries(tensors)) {
    if (!(t.data instanceof Float32Array)) throw new Error(`${source}: tensor '${name}' is not a float tensor; model weights must be F32, BF16 or F16`);
    out[name] = { shape: t.shape, data: t.data };
  }
  return { tensors: out, metadata };
}

export function saveSafetensors(path: string, tensors: Record<string, TypedArrayTensor>, metadata: Record<string, string> = {}): void {
  writeFileAtomic(path, encodeSafetensors(tensors, metadata));
}

export function loadSafetensors(path: string): { tensors: Record<string, NamedArray>; metadata: Record<string, string> } {
  return decodeSafetensors(readFileSync(path), path);
}
