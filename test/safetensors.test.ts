import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, decodeSafetensorsTyped, encodeSafetensors, loadSafetensors, saveSafetensors } from '../harness/engine/safetensors.js';
import { tmp } from './helpers.js';

const META_PAD = 88;

describe('safetensors', () => {
  it('writes the published layout: u64 LE header size, JSON header with F32 offsets, raw little-endian data', () => {
    const buf = encodeSafetensors({ b: { shape: [2], data: new Float32Array([1.5, -2]) }, a: { shape: [1, 1], data: new Float32Array([3]) } }, { k: 'v' });
    const n = Number(buf.readBigUInt64LE(0));
    expect((8 + n) % 8).to.equal(0);
    const header = JSON.parse(buf.subarray(8, 8 + n).toString());
    expect(header.__metadata__).to.deep.equal({ k: 'v' });
    expect(header.a).to.deep.equal({ dtype: 'F32', shape: [1, 1], data_offsets: [0, 4] });
    expect(header.b).to.deep.equal({ dtype: 'F32', shape: [2], data_offsets: [4, 12] });
    expect(buf.readFloatLE(8 + n)).to.equal(3);
    expect(buf.readFloatLE(8 + n + 4)).to.equal(1.5);
    expect(buf.readFloatLE(8 + n + 8)).to.equal(-2);
  });

  it('round-trips through a file', () => {
    const f = join(tmp(), 'm.safetensors');
    saveSafetensors(f, { w: { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) } });
    const { tensors } = loadSafetensors(f);
    expect(tensors.w!.shape).to.deep.equal([2, 3]);
    expect([...tensors.w!.data]).to.deep.equal([1, 2, 3, 4, 5, 6]);
    expect(decodeSafetensors(readFileSync(f)).tensors.w!.data.length).to.equal(6);
  });

  it('rejects a truncated file with its name', () => {
    expect(() => decodeSafetensors(Buffer.from([1, 0, 0]), 'x.safetensors')).to.throw('x.safetensors: not a safetensors file');
  });

  it('writes and reads I32 token ids and U8 flags with their dtypes (the trainer protocol\'s inputs)', () => {
    const buf = encodeSafetensors({ ids: { shape: [2, 2], data: Int32Array.from([1, -2, 70000, 3]) }, wrong: { shape: [3], data: Uint8Array.from([0, 1, 255]) } });
    const header = JSON.parse(buf.subarray(8, 8 + Number(buf.readBigUInt64LE(0))).toString('utf8')) as Record<string, { dtype: string }>;
    expect(header.ids!.dtype).to.equal('I32');
    expect(header.wrong!.dtype).to.equal('U8');
    const { tensors } = decodeSafetensorsTyped(buf);
    expect(tensors.ids!.data).to.be.instanceOf(Int32Array);
    expect([...tensors.ids!.data]).to.deep.equal([1, -2, 70000, 3]);
    expect([...tensors.wrong!.data]).to.deep.equal([0, 1, 255]);
    expect(() => decodeSafetensors(buf, 'x.safetensors')).to.throw("x.safetensors: tensor 'ids' is not a float tensor");
  });

  it('widens BF16 and F16 weights to float32 (hand-worked bit patterns)', () => {
    const file = (dtype: string, words: number[]): Buffer => {
      const json = JSON.stringify({ w: { dtype, shape: [words.length], data_offsets: [0, 2 * words.length] } }).padEnd(META_PAD, ' ');
      const b = Buffer.alloc(8 + json.length + 2 * words.length);
      b.writeBigUInt64LE(BigInt(json.length), 0);
      b.write(json, 8);
      words.forEach((w, i) => b.writeUInt16LE(w, 8 + json.length + 2 * i));
      return b;
    };
    // bfloat16: the top 16 bits of a float32. 0x3F80 = 1, 0xC000 = −2, 0x3EAB ≈ 0.333984375.
    expect([...decodeSafetensors(file('BF16', [0x3f80, 0xc000, 0x3eab])).tensors.w!.data]).to.deep.equal([1, -2, 0.333984375]);
    // float16: 0x3C00 = 1, 0xC000 = −2, 0x7BFF = 65504 (largest), 0x0001 = 2⁻²⁴ (smallest subnormal), 0x7C00 = ∞.
    expect([...decodeSafetensors(file('F16', [0x3c00, 0xc000, 0x7bff, 0x0001, 0x7c00])).tensors.w!.data]).to.deep.equal([1, -2, 65504, 2 ** -24, Infinity]);
  });
});
