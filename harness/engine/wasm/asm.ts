/**
 * A minimal WebAssembly binary writer for the handful of SIMD kernels in ./kernels.ts: one module that
 * imports a memory (the tfjs wasm backend's heap) and exports functions over i32/f32/v128 values. Only the
 * instructions those kernels use are encoded; the module is validated by the engine when it is compiled.
 * Encodings follow the WebAssembly core specification (2.0, with fixed-width SIMD).
 */

export type ValType = 'i32' | 'f32' | 'v128';
const VALTYPE: Record<ValType, number> = { i32: 0x7f, f32: 0x7d, v128: 0x7b };

/** Opcodes without immediates: plain (one byte) or SIMD (0xfd prefix + LEB128 index). */
const PLAIN: Record<string, number> = {
  'i32.eqz': 0x45, 'i32.eq': 0x46, 'i32.ne': 0x47, 'i32.lt_s': 0x48, 'i32.lt_u': 0x49, 'i32.gt_s': 0x4a, 'i32.le_s': 0x4c, 'i32.ge_s': 0x4e,
  'i32.add': 0x6a, 'i32.sub': 0x6b, 'i32.mul': 0x6c, 'i32.div_s': 0x6d, 'i32.rem_s': 0x6f, 'i32.and': 0x71, 'i32.or': 0x72, 'i32.shl': 0x74, 'i32.shr_s': 0x75,
  'f32.abs': 0x8b, 'f32.neg': 0x8c, 'f32.sqrt': 0x91, 'f32.add': 0x92, 'f32.sub': 0x93, 'f32.mul': 0x94, 'f32.div': 0x95, 'f32.min': 0x96, 'f32.max': 0x97,
  'f32.lt': 0x5d, 'f32.gt': 0x5e, 'f32.le': 0x5f, 'f32.ge': 0x60, 'f32.convert_i32_s': 0xb2, 'drop': 0x1a, 'select': 0x1b, 'return': 0x0f,
};
const SIMD: Record<string, number> = {
  'i32x4.splat': 0x11, 'f32x4.splat': 0x13,
  'f32x4.eq': 0x41, 'f32x4.lt': 0x43, 'f32x4.gt': 0x44, 'f32x4.le': 0x45, 'f32x4.ge': 0x46,
  'v128.not': 0x4d, 'v128.and': 0x4e, 'v128.andnot': 0x4f, 'v128.or': 0x50, 'v128.xor': 0x51, 'v128.bitselect': 0x52, 'v128.any_true': 0x53,
  'f32x4.floor': 0x68, 'f32x4.nearest': 0x6a,
  'i32x4.shl': 0xab, 'i32x4.add': 0xae, 'i32x4.sub': 0xb1,
  'f32x4.abs': 0xe0, 'f32x4.neg': 0xe1, 'f32x4.sqrt': 0xe3, 'f32x4.add': 0xe4, 'f32x4.sub': 0xe5, 'f32x4.mul': 0xe6, 'f32x4.div': 0xe7,
  'f32x4.min': 0xe8, 'f32x4.max': 0xe9, 'i32x4.trunc_sat_f32x4_s': 0xf8, 'f32x4.convert_i32x4_s': 0xfa,
};
export type Op = keyof typeof PLAIN | keyof typeof SIMD;

function uleb(n: number, out: number[]): void {
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n !== 0) b |= 0x80;
    out.push(b);
  } while (n !== 0);
}

function sleb(n: number, out: number[]): void {
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && (b & 0x40) === 0) || (n === -1 && (b & 0x40) !== 0)) {
      out.push(b);
      return;
    }
    out.push(b | 0x80);
  }
}

function f32Bytes(x: number): number[] {
  return Array.from(new Uint8Array(new Float32Array([x]).buffer));
}

/**
 * One function body. Methods emit instructions in stack order and return `this`, so kernels read as
 * stack code: `f.get(a).get(b).op('f32x4.add')`. Structured control flow takes callbacks.
 */
export class Fn {
  readonly code: number[] = [];
  private readonly localTypes: ValType[] = [];

  constructor(readonly name: string, readonly params: ValType[], readonly results: ValType[] = []) {}

  /** A new local of the given type; returns its index. */
  local(type: ValType): number {
    this.localTypes.push(type);
    return this.params.length + this.localTypes.length - 1;
  }

  get(i: number): this {
    this.code.push(0x20);
    uleb(i, this.code);
    return this;
  }

  set(i: number): this {
    this.code.push(0x21);
    uleb(i, this.code);
    return this;
  }

  tee(i: number): this {
    this.code.push(0x22);
    uleb(i, this.code);
    return this;
  }

  i32(c: number): this {
    this.code.push(0x41);
    sleb(c | 0, this.code);
    return this;
  }

  f32(c: number): this {
    this.code.push(0x43, ...f32Bytes(c));
    return this;
  }

  /** v128 with the same f32 in all four lanes. */
  f32x4(c: number): this {
    this.code.push(0xfd);
    uleb(0x0c, this.code);
    const b = f32Bytes(c);
    this.code.push(...b, ...b, ...b, ...b);
    return this;
  }

  /** v128 with the same i32 in all four lanes. */
  i32x4(c: number): this {
    this.code.push(0xfd);
    uleb(0x0c, this.code);
    const b = Array.from(new Uint8Array(new Int32Array([c]).buffer));
    this.code.push(...b, ...b, ...b, ...b);
    return this;
  }

  op(name: Op): this {
    const plain = PLAIN[name];
    if (plain !== undefined) {
      this.code.push(plain);
      return this;
    }
    const simd = SIMD[name];
    if (simd === undefined) throw new Error(`asm: unknown op ${name}`);
    this.code.push(0xfd);
    uleb(simd, this.code);
    return this;
  }

  /** Loads from the address on the stack plus a constant byte offset. */
  load(type: 'i32' | 'f32' | 'v128', offset = 0): this {
    if (type === 'v128') {
      this.code.push(0xfd);
      uleb(0x00, this.code);
    } else this.code.push(type === 'f32' ? 0x2a : 0x28);
    uleb(2, this.code); // alignment hint: 4 bytes (tensor rows are 4-byte aligned, not 16)
    uleb(offset, this.code);
    return this;
  }

  /** Stores the value on top of the stack at the address below it plus a constant byte offset. */
  store(type: 'i32' | 'f32' | 'v128', offset = 0): this {
    if (type === 'v128') {
      this.code.push(0xfd);
      uleb(0x0b, this.code);
    } else this.code.push(type === 'f32' ? 0x38 : 0x36);
    uleb(2, this.code);
    uleb(offset, this.code);
    return this;
  }

  /** f32 lane `lane` of the v128 on the stack. */
  lane(lane: number): this {
    this.code.push(0xfd);
    uleb(0x1f, this.code);
    this.code.push(lane);
    return this;
  }

  block(body: () => void): this {
    this.code.push(0x02, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }

  loop(body: () => void): this {
    this.code.push(0x03, 0x40);
    body();
    this.code.push(0x0b);
    return this;
  }

  /** Pops an i32 condition. */
  if(then: () => void, otherwise?: () => void): this {
    this.code.push(0x04, 0x40);
    then();
    if (otherwise) {
      this.code.push(0x05);
      otherwise();
    }
    this.code.push(0x0b);
    return this;
  }

  br(depth: number): this {
    this.code.push(0x0c);
    uleb(depth, this.code);
    return this;
  }

  brIf(depth: number): this {
    this.code.push(0x0d);
    uleb(depth, this.code);
    return this;
  }

  /**
   * for (i = from; i + step <= to; i += step) body() — `from`/`to` push i32 values; leaves i at the first
   * index the loop did not run (so a tail loop can continue from it). `body` must not branch out by depth.
   */
  forStep(i: number, from: () => void, to: () => void, step: number, body: () => void): this {
    from();
    this.set(i);
    return this.block(() => {
      this.loop(() => {
        this.get(i).i32(step).op('i32.add');
        to();
        this.op('i32.gt_s').brIf(1);
        body();
        this.get(i).i32(step).op('i32.add').set(i).br(0);
      });
    });
  }

  /** for (i = from; i < to; i++) body(). */
  for(i: number, from: () => void, to: () => void, body: () => void): this {
    return this.forStep(i, from, to, 1, body);
  }

  /** The function body (locals + code) as a byte vector. */
  encodeBody(): number[] {
    const runs: [number, ValType][] = [];
    for (const t of this.localTypes) {
      const last = runs[runs.length - 1];
      if (last && last[1] === t) last[0]++;
      else runs.push([1, t]);
    }
    const body: number[] = [];
    uleb(runs.length, body);
    for (const [n, t] of runs) {
      uleb(n, body);
      body.push(VALTYPE[t]);
    }
    body.push(...this.code, 0x0b);
    const out: number[] = [];
    uleb(body.length, out);
    out.push(...body);
    return out;
  }
}

function section(id: number, payload: number[]): number[] {
  const out = [id];
  uleb(payload.length, out);
  return out.concat(payload);
}

function name(s: string, out: number[]): void {
  const b = new TextEncoder().encode(s);
  uleb(b.length, out);
  out.push(...b);
}

/** A module importing memory `env.memory` and exporting every function under its name. */
export function assemble(fns: Fn[]): Uint8Array {
  const types: number[] = [];
  uleb(fns.length, types);
  for (const f of fns) {
    types.push(0x60);
    uleb(f.params.length, types);
    for (const p of f.params) types.push(VALTYPE[p]);
    uleb(f.results.length, types);
    for (const r of f.results) types.push(VALTYPE[r]);
  }
  const imports: number[] = [];
  uleb(1, imports);
  name('env', imports);
  name('memory', imports);
  imports.push(0x02, 0x00); // memory, limits: min only
  uleb(1, imports);
  const funcs: number[] = [];
  uleb(fns.length, funcs);
  fns.forEach((_, i) => uleb(i, funcs));
  const exports: number[] = [];
  uleb(fns.length, exports);
  fns.forEach((f, i) => {
    name(f.name, exports);
    exports.push(0x00);
    uleb(i, exports);
  });
  const code: number[] = [];
  uleb(fns.length, code);
  for (const f of fns) code.push(...f.encodeBody());
  return new Uint8Array([
    0x00, 0x61, 0x73, 0x6d, 0x01, 0x00, 0x00, 0x00,
    ...section(1, types), ...section(2, imports), ...section(3, funcs), ...section(7, exports), ...section(10, code),
  ]);
}
