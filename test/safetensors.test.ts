import { expect } from 'chai';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeSafetensors, encodeSafetensors, loadSafetensors, saveSafetensors } from '../harness/engine/safetensors.js';
import { tmp } from './helpers.js';

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
});
