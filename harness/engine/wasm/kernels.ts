/**
 * SIMD kernels that run inside the tfjs wasm backend's own heap (they import its memory), for the work the
 * backend does slowly (../shared/ENGINE.md from the repository root): batched matmuls, which it runs on a scalar loop at ~2 GFLOP/s
 * (2-D ones go to XNNPACK, which these match or beat here because its weights are re-packed on every call),
 * and exp/erf-based row ops, which it runs through scalar libm. Each kernel is a function of
 * byte addresses and sizes; ./runtime.ts registers them as tfjs kernels, ../ops.ts builds ops with gradients on them.
 */
import { assemble, Fn } from './asm.js';

/**
 * bmm(a, b, c, batch, M, K, N, saI, saK, saB, sbB): for each batch index, C[M,N] = A·B where A's element
 * (i,k) is at a + 4·(batch·saB + i·saI + k·saK) (so A may be read transposed), B is row-major [K,N]
 * (batch stride sbB elements) and C row-major [M,N] (batch stride M·N). Columns past the last multiple
 * of 4 take a scalar path.
 * Register tiles of R rows × 4V columns (R·V accumulators); the columns are swept in panels of `panel` and
 * k in chunks of `chunk`, so the slice of B a tile row streams stays in cache for large N and K.
 */
export function bmm(R0 = 2, V0 = 4, fname = 'bmm', panel = 64, chunk = 256): Fn {
  const f = new Fn(fname, ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [a, b, c, batch, M, K, N, saI, saK, saB, sbB] = [0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10];
  const [bi, i0, j, k, jp, jEnd, kp, kEnd] = Array.from({ length: 8 }, () => f.local('i32'));
  const [aBase, bBase, cBase, bp, cp, saI4, saK4, N4] = Array.from({ length: 8 }, () => f.local('i32'));
  const ap = Array.from({ length: R0 }, () => f.local('i32'));
  const acc = Array.from({ length: R0 * V0 }, () => f.local('v128'));
  const bv = Array.from({ length: V0 }, () => f.local('v128'));
  const av = f.local('v128');
  const sacc = f.local('f32');
  const zero = (): void => void f.i32(0);
  const min = (x: () => void, y: () => void): void => {
    x(); y(); x(); y();
    f.op('i32.lt_s').op('select');
  };

  /** C[i0..i0+R, j..j+4V] (+)= Σ_{k in chunk} A[i,k]·B[k, j..]: starts from 0 on the first chunk, from C after. */
  const tile = (R: number, V: number): void => {
    for (let r = 0; r < R; r++) {
      // cp = cBase + ((i0 + r)·N + j)·4;  ap[r] = aBase + ((i0 + r)·saI + kp·saK)·4
      f.get(cBase).get(i0).i32(r).op('i32.add').get(N).op('i32.mul').get(j).op('i32.add').i32(4).op('i32.mul').op('i32.add').set(cp);
      f.get(kp).op('i32.eqz').if(
        () => { for (let v = 0; v < V; v++) f.f32x4(0).set(acc[r * V + v]!); },
        () => { for (let v = 0; v < V; v++) f.get(cp).load('v128', 16 * v).set(acc[r * V + v]!); },
      );
      f.get(aBase).get(i0).i32(r).op('i32.add').get(saI4).op('i32.mul').op('i32.add').get(kp).get(saK4).op('i32.mul').op('i32.add').set(ap[r]!);
    }
    f.get(bBase).get(kp).get(N4).op('i32.mul').op('i32.add').get(j).i32(4).op('i32.mul').op('i32.add').set(bp);
    f.for(k, () => f.get(kp), () => f.get(kEnd), () => {
      for (let v = 0; v < V; v++) f.get(bp).load('v128', 16 * v).set(bv[v]!);
      for (let r = 0; r < R; r++) {
        f.get(ap[r]!).load('f32').op('f32x4.splat').set(av);
        for (let v = 0; v < V; v++) {
          const x = acc[r * V + v]!;
          f.get(x).get(av).get(bv[v]!).op('f32x4.mul').op('f32x4.add').set(x);
        }
        f.get(ap[r]!).get(saK4).op('i32.add').set(ap[r]!);
      }
      f.get(bp).get(N4).op('i32.add').set(bp);
    });
    for (let r = 0; r < R; r++) {
      f.get(cBase).get(i0).i32(r).op('i32.add').get(N).op('i32.mul').get(j).op('i32.add').i32(4).op('i32.mul').op('i32.add').set(cp);
      for (let v = 0; v < V; v++) f.get(cp).get(acc[r * V + v]!).store('v128', 16 * v);
    }
  };
  /** One column j (N not a multiple of 4): C[i0..i0+R, j] (+)= Σ_k A[i,k]·B[k,j], scalar. */
  const column = (R: number): void => {
    for (let r = 0; r < R; r++) {
      f.get(cBase).get(i0).i32(r).op('i32.add').get(N).op('i32.mul').get(j).op('i32.add').i32(4).op('i32.mul').op('i32.add').set(cp);
      f.get(kp).op('i32.eqz').if(() => void f.f32(0).set(sacc), () => void f.get(cp).load('f32').set(sacc));
      f.get(aBase).get(i0).i32(r).op('i32.add').get(saI4).op('i32.mul').op('i32.add').get(kp).get(saK4).op('i32.mul').op('i32.add').set(ap[0]!);
      f.get(bBase).get(kp).get(N4).op('i32.mul').op('i32.add').get(j).i32(4).op('i32.mul').op('i32.add').set(bp);
      f.for(k, () => f.get(kp), () => f.get(kEnd), () => {
        f.get(ap[0]!).load('f32').get(bp).load('f32').op('f32.mul').get(sacc).op('f32.add').set(sacc);
        f.get(ap[0]!).get(saK4).op('i32.add').set(ap[0]!);
        f.get(bp).get(N4).op('i32.add').set(bp);
      });
      f.get(cp).get(sacc).store('f32');
    }
  };
  /** The panel's column tiles for the rows at i0 (R rows). */
  const rows = (R: number): void => {
    f.forStep(j, () => f.get(jp), () => f.get(jEnd), 4 * V0, () => tile(R, V0));
    f.forStep(j, () => f.get(j), () => f.get(jEnd), 4, () => tile(R, 1));
    f.forStep(j, () => f.get(j), () => f.get(jEnd), 1, () => column(R));
  };

  f.get(saI).i32(4).op('i32.mul').set(saI4);
  f.get(saK).i32(4).op('i32.mul').set(saK4);
  f.get(N).i32(4).op('i32.mul').set(N4);
  f.for(bi, zero, () => f.get(batch), () => {
    f.get(a).get(bi).get(saB).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(aBase);
    f.get(b).get(bi).get(sbB).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(bBase);
    f.get(c).get(bi).get(M).op('i32.mul').get(N).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(cBase);
    // Panels of columns, then chunks of k, then all rows: one B slice [chunk × panel] is reused by every row.
    f.forStep(jp, zero, () => f.get(N), 1, () => {
      min(() => f.get(jp).i32(panel).op('i32.add'), () => f.get(N));
      f.set(jEnd);
      f.forStep(kp, zero, () => f.get(K), 1, () => {
        min(() => f.get(kp).i32(chunk).op('i32.add'), () => f.get(K));
        f.set(kEnd);
        f.forStep(i0, zero, () => f.get(M), R0, () => rows(R0));
        f.forStep(i0, () => f.get(i0), () => f.get(M), 1, () => rows(1));
        f.get(kEnd).i32(1).op('i32.sub').set(kp);
      });
      f.get(jEnd).i32(1).op('i32.sub').set(jp);
    });
  });
  return f;
}

/** Temporaries the vector math helpers use (allocated once per function). */
interface Scratch {
  a: number;
  n: number;
  m: number;
  r: number;
  /** Free for callers: vexp leaves it alone. */
  p: number;
}

function scratch(f: Fn): Scratch {
  return { a: f.local('v128'), n: f.local('v128'), m: f.local('v128'), r: f.local('v128'), p: f.local('v128') };
}

const LOG2E = Math.LOG2E;
// ln 2 split so that n·LN2_HI is exact for |n| < 2^15 (LN2_HI has 9 significant bits).
const LN2_HI = 0.693359375;
const LN2_LO = Math.LN2 - 0.693359375;

// 1.5·2^23 + 127: adding it rounds x·log2 e to an integer n held in the low mantissa bits as n + 127.
const MAGIC = 12582912 + 127;

/**
 * Pushes exp(x) for the v128 in local `x`: x = n·ln2 + r with n = round(x·log2 e), |r| ≤ ln2/2, exp(r) by its
 * Taylor polynomial to degree 7 (truncation < 6e-9 relative, below float32 rounding), times 2^n built in the
 * exponent bits (the rounding and the bits come from one add of MAGIC). Inputs are clamped to [−87, 88]
 * (normal range); below −87 the result is 0; NaN stays NaN.
 */
function vexp(f: Fn, x: number, t: Scratch): void {
  f.get(x).f32x4(-87).op('f32x4.max').f32x4(88).op('f32x4.min').set(t.a);
  f.get(t.a).f32x4(LOG2E).op('f32x4.mul').f32x4(MAGIC).op('f32x4.add').set(t.n); // bits: n + 127 in the mantissa
  f.get(t.n).f32x4(MAGIC).op('f32x4.sub').set(t.m); // n as a float
  f.get(t.a).get(t.m).f32x4(LN2_HI).op('f32x4.mul').op('f32x4.sub').get(t.m).f32x4(LN2_LO).op('f32x4.mul').op('f32x4.sub').set(t.r);
  f.f32x4(1 / 5040);
  for (const c of [1 / 720, 1 / 120, 1 / 24, 1 / 6, 1 / 2, 1, 1]) f.get(t.r).op('f32x4.mul').f32x4(c).op('f32x4.add');
  f.get(t.n).i32(23).op('i32x4.shl'); // 2^n
  f.op('f32x4.mul');
  // Flush to 0 below −87 (x < −87 is false for NaN, which then propagates).
  f.get(x).f32x4(-87).op('f32x4.lt').op('v128.andnot');
}

/** One lane of a vector helper: computes `vec` on splat(scalar in local s) and pushes lane 0. */
function lane0(f: Fn, s: number, v: number, vec: () => void): void {
  f.get(s).op('f32x4.splat').set(v);
  vec();
  f.lane(0);
}

/** Horizontal sum of the v128 in local v (pushes an f32). */
function hsum(f: Fn, v: number): void {
  f.get(v).lane(0).get(v).lane(1).op('f32.add').get(v).lane(2).get(v).lane(3).op('f32.add').op('f32.add');
}

/** Horizontal max of the v128 in local v. */
function hmax(f: Fn, v: number): void {
  f.get(v).lane(0).get(v).lane(1).op('f32.max').get(v).lane(2).get(v).lane(3).op('f32.max').op('f32.max');
}

/** addr = base + 4·index (both i32 locals or emitters). */
function addr(f: Fn, base: number, index: number): Fn {
  return f.get(base).get(index).i32(4).op('i32.mul').op('i32.add');
}

/**
 * transpose(x, out, batch, R, C): out[b][c, r] = x[b][r, c], in 8×8 tiles so both sides stay in cache lines.
 */
function transpose(): Fn {
  const f = new Fn('transpose', ['i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, out, batch, R, C] = [0, 1, 2, 3, 4];
  const [b, r0, c0, r, c, rEnd, cEnd, xb, ob] = Array.from({ length: 9 }, () => f.local('i32'));
  const zero = (): void => void f.i32(0);
  const min = (e: () => void, lim: number): void => {
    e(); f.get(lim); e(); f.get(lim); f.op('i32.lt_s').op('select');
  };
  f.for(b, zero, () => f.get(batch), () => {
    f.get(x).get(b).get(R).op('i32.mul').get(C).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(xb);
    f.get(out).get(b).get(R).op('i32.mul').get(C).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(ob);
    f.forStep(r0, zero, () => f.get(R), 1, () => {
      min(() => f.get(r0).i32(8).op('i32.add'), R);
      f.set(rEnd);
      f.forStep(c0, zero, () => f.get(C), 1, () => {
        min(() => f.get(c0).i32(8).op('i32.add'), C);
        f.set(cEnd);
        f.for(r, () => f.get(r0), () => f.get(rEnd), () => {
          f.for(c, () => f.get(c0), () => f.get(cEnd), () => {
            // out[c·R + r] = x[r·C + c]
            f.get(ob).get(c).get(R).op('i32.mul').get(r).op('i32.add').i32(4).op('i32.mul').op('i32.add');
            f.get(xb).get(r).get(C).op('i32.mul').get(c).op('i32.add').i32(4).op('i32.mul').op('i32.add').load('f32');
            f.store('f32');
          });
        });
        f.get(cEnd).i32(1).op('i32.sub').set(c0);
      });
      f.get(rEnd).i32(1).op('i32.sub').set(r0);
    });
  });
  return f;
}

/** colsum(x, out, rows, cols): out[j] = Σ_i x[i, j], 8 vectors of columns at a time, then 1, then scalar. */
function colsum(): Fn {
  const f = new Fn('colsum', ['i32', 'i32', 'i32', 'i32']);
  const [x, out, rows, cols] = [0, 1, 2, 3];
  const [j, i, p, cols4] = Array.from({ length: 4 }, () => f.local('i32'));
  const s = f.local('f32');
  const acc = Array.from({ length: 8 }, () => f.local('v128'));
  const zero = (): void => void f.i32(0);
  const block = (V: number): void => {
    for (let v = 0; v < V; v++) f.f32x4(0).set(acc[v]!);
    addr(f, x, j).set(p);
    f.for(i, zero, () => f.get(rows), () => {
      for (let v = 0; v < V; v++) f.get(acc[v]!).get(p).load('v128', 16 * v).op('f32x4.add').set(acc[v]!);
      f.get(p).get(cols4).op('i32.add').set(p);
    });
    for (let v = 0; v < V; v++) addr(f, out, j).get(acc[v]!).store('v128', 16 * v);
  };
  f.get(cols).i32(4).op('i32.mul').set(cols4);
  f.forStep(j, zero, () => f.get(cols), 32, () => block(8));
  f.forStep(j, () => f.get(j), () => f.get(cols), 4, () => block(1));
  f.forStep(j, () => f.get(j), () => f.get(cols), 1, () => {
    f.f32(0).set(s);
    addr(f, x, j).set(p);
    f.for(i, zero, () => f.get(rows), () => {
      f.get(s).get(p).load('f32').op('f32.add').set(s);
      f.get(p).get(cols4).op('i32.add').set(p);
    });
    addr(f, out, j).get(s).store('f32');
  });
  return f;
}

/** Emits `for j in [0, n) step 4` with `vec`, then `for j in [j, n)` with `one` (j, n i32 locals). */
function sweep(f: Fn, j: number, from: () => void, n: number, vec: () => void, one: () => void): void {
  f.forStep(j, from, () => f.get(n), 4, vec);
  f.forStep(j, () => f.get(j), () => f.get(n), 1, one);
}

/**
 * softmax_rows(s, out, rows, T, scale, causal): out[r, :] = softmax(scale·s[r, :]) over T columns; with
 * causal = 1, row r (query position r mod T) sees columns 0..(r mod T) and the rest of its row is 0.
 */
function softmaxRows(): Fn {
  const f = new Fn('softmax_rows', ['i32', 'i32', 'i32', 'i32', 'f32', 'i32']);
  const [s, out, rows, T, scale, causal] = [0, 1, 2, 3, 4, 5];
  const [r, j, n, sp, op, oj] = Array.from({ length: 6 }, () => f.local('i32'));
  const [mx, sm, xs] = [f.local('f32'), f.local('f32'), f.local('f32')];
  const [xv, acc, sc, mv, v1] = Array.from({ length: 5 }, () => f.local('v128'));
  const t = scratch(f);
  const zero = (): void => void f.i32(0);
  const at = (base: number): void => void f.get(base).get(j).i32(4).op('i32.mul').op('i32.add');
  f.get(scale).op('f32x4.splat').set(sc);
  f.for(r, zero, () => f.get(rows), () => {
    f.get(s).get(r).get(T).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(sp);
    f.get(out).get(r).get(T).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(op);
    f.get(causal).if(() => void f.get(r).get(T).op('i32.rem_s').i32(1).op('i32.add').set(n), () => void f.get(T).set(n));
    // Max of scale·s over the visible columns.
    f.f32x4(-Infinity).set(acc);
    f.f32(-Infinity).set(mx);
    sweep(f, j, zero, n,
      () => { at(sp); f.load('v128').get(sc).op('f32x4.mul').get(acc).op('f32x4.max').set(acc); },
      () => { at(sp); f.load('f32').get(scale).op('f32.mul').get(mx).op('f32.max').set(mx); });
    hmax(f, acc);
    f.get(mx).op('f32.max').set(mx);
    f.get(mx).op('f32x4.splat').set(mv);
    // e = exp(scale·s − max) into out, and its sum.
    f.f32x4(0).set(acc);
    f.f32(0).set(sm);
    sweep(f, j, zero, n,
      () => {
        at(sp); f.load('v128').get(sc).op('f32x4.mul').get(mv).op('f32x4.sub').set(xv);
        at(op); vexp(f, xv, t); f.tee(v1).store('v128');
        f.get(acc).get(v1).op('f32x4.add').set(acc);
      },
      () => {
        at(sp); f.load('f32').get(scale).op('f32.mul').get(mx).op('f32.sub').set(xs);
        at(op); lane0(f, xs, xv, () => vexp(f, xv, t)); f.set(xs); f.get(xs).store('f32');
        f.get(sm).get(xs).op('f32.add').set(sm);
      });
    hsum(f, acc);
    f.get(sm).op('f32.add').set(sm);
    f.f32(1).get(sm).op('f32.div').set(sm);
    f.get(sm).op('f32x4.splat').set(mv);
    sweep(f, j, zero, n,
      () => { at(op); f.set(oj); f.get(oj).get(oj).load('v128').get(mv).op('f32x4.mul').store('v128'); },
      () => { at(op); f.set(oj); f.get(oj).get(oj).load('f32').get(sm).op('f32.mul').store('f32'); });
    f.for(j, () => f.get(n), () => f.get(T), () => { at(op); f.f32(0).store('f32'); });
  });
  return f;
}

/** softmax_grad(p, dp, out, rows, T, scale): out = scale·p ⊙ (dp − Σ_j p·dp) row-wise (the softmax backward). */
function softmaxGrad(): Fn {
  const f = new Fn('softmax_grad', ['i32', 'i32', 'i32', 'i32', 'i32', 'f32']);
  const [p, dp, out, rows, T, scale] = [0, 1, 2, 3, 4, 5];
  const [r, j, base] = Array.from({ length: 3 }, () => f.local('i32'));
  const [dot] = [f.local('f32')];
  const [acc, dv, sc] = Array.from({ length: 3 }, () => f.local('v128'));
  const zero = (): void => void f.i32(0);
  const at = (b: number): void => void f.get(b).get(base).op('i32.add').get(j).i32(4).op('i32.mul').op('i32.add');
  f.get(scale).op('f32x4.splat').set(sc);
  f.for(r, zero, () => f.get(rows), () => {
    f.get(r).get(T).op('i32.mul').i32(4).op('i32.mul').set(base);
    f.f32x4(0).set(acc);
    f.f32(0).set(dot);
    sweep(f, j, zero, T,
      () => { at(p); f.load('v128'); at(dp); f.load('v128').op('f32x4.mul').get(acc).op('f32x4.add').set(acc); },
      () => { at(p); f.load('f32'); at(dp); f.load('f32').op('f32.mul').get(dot).op('f32.add').set(dot); });
    hsum(f, acc);
    f.get(dot).op('f32.add').set(dot);
    f.get(dot).op('f32x4.splat').set(dv);
    sweep(f, j, zero, T,
      () => { at(out); at(dp); f.load('v128').get(dv).op('f32x4.sub'); at(p); f.load('v128').op('f32x4.mul').get(sc).op('f32x4.mul').store('v128'); },
      () => { at(out); at(dp); f.load('f32').get(dot).op('f32.sub'); at(p); f.load('f32').op('f32.mul').get(scale).op('f32.mul').store('f32'); });
  });
  return f;
}

/**
 * row_stats(x, q, out, rows, V, withQ): per row of x [rows, V], out[r] = (max, Σ exp(x − max), Σ q, Σ q·x)
 * (the last two only when withQ = 1). log-sum-exp = max + log(Σ exp(x − max)) is finished by the caller.
 */
function rowStats(): Fn {
  const f = new Fn('row_stats', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, q, out, rows, V, withQ] = [0, 1, 2, 3, 4, 5];
  const [r, j, xp, qp] = Array.from({ length: 4 }, () => f.local('i32'));
  const [mx, sm, qs, qd, xs] = Array.from({ length: 5 }, () => f.local('f32'));
  const [acc, acc2, mv, xv, v1] = Array.from({ length: 5 }, () => f.local('v128'));
  const t = scratch(f);
  const zero = (): void => void f.i32(0);
  const at = (b: number): void => void f.get(b).get(j).i32(4).op('i32.mul').op('i32.add');
  f.for(r, zero, () => f.get(rows), () => {
    f.get(x).get(r).get(V).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(xp);
    f.get(q).get(r).get(V).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(qp);
    f.f32x4(-Infinity).set(acc);
    f.f32(-Infinity).set(mx);
    sweep(f, j, zero, V,
      () => { at(xp); f.load('v128').get(acc).op('f32x4.max').set(acc); },
      () => { at(xp); f.load('f32').get(mx).op('f32.max').set(mx); });
    hmax(f, acc);
    f.get(mx).op('f32.max').set(mx);
    f.get(mx).op('f32x4.splat').set(mv);
    f.f32x4(0).set(acc);
    f.f32(0).set(sm);
    sweep(f, j, zero, V,
      () => { at(xp); f.load('v128').get(mv).op('f32x4.sub').set(xv); vexp(f, xv, t); f.get(acc).op('f32x4.add').set(acc); },
      () => {
        at(xp); f.load('f32').get(mx).op('f32.sub').set(xs);
        lane0(f, xs, xv, () => vexp(f, xv, t)); f.get(sm).op('f32.add').set(sm);
      });
    hsum(f, acc);
    f.get(sm).op('f32.add').set(sm);
    f.f32(0).set(qs);
    f.f32(0).set(qd);
    f.get(withQ).if(() => {
      f.f32x4(0).set(acc);
      f.f32x4(0).set(acc2);
      sweep(f, j, zero, V,
        () => {
          at(qp); f.load('v128').set(v1);
          f.get(acc).get(v1).op('f32x4.add').set(acc);
          at(xp); f.load('v128').get(v1).op('f32x4.mul').get(acc2).op('f32x4.add').set(acc2);
        },
        () => {
          at(qp); f.load('f32').set(xs);
          f.get(qs).get(xs).op('f32.add').set(qs);
          at(xp); f.load('f32').get(xs).op('f32.mul').get(qd).op('f32.add').set(qd);
        });
      hsum(f, acc); f.get(qs).op('f32.add').set(qs);
      hsum(f, acc2); f.get(qd).op('f32.add').set(qd);
    });
    f.get(out).get(r).i32(16).op('i32.mul').op('i32.add').set(xp);
    f.get(xp).get(mx).store('f32', 0);
    f.get(xp).get(sm).store('f32', 4);
    f.get(xp).get(qs).store('f32', 8);
    f.get(xp).get(qd).store('f32', 12);
  });
  return f;
}

/**
 * ce_grad(x, q, coef, out, rows, V): out[r, :] = exp(x[r, :] − coef[r,0])·coef[r,1] − q[r, :]·coef[r,2]
 * (the soft cross-entropy backward: coef = (log-sum-exp, Σq·scale, scale)).
 */
function ceGrad(): Fn {
  const f = new Fn('ce_grad', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, q, coef, out, rows, V] = [0, 1, 2, 3, 4, 5];
  const [r, j, base, cp] = Array.from({ length: 4 }, () => f.local('i32'));
  const [lse, ca, cb, xs] = Array.from({ length: 4 }, () => f.local('f32'));
  const [lv, av, bv, xv] = Array.from({ length: 4 }, () => f.local('v128'));
  const t = scratch(f);
  const zero = (): void => void f.i32(0);
  const at = (b: number): void => void f.get(b).get(base).op('i32.add').get(j).i32(4).op('i32.mul').op('i32.add');
  f.for(r, zero, () => f.get(rows), () => {
    f.get(r).get(V).op('i32.mul').i32(4).op('i32.mul').set(base);
    f.get(coef).get(r).i32(12).op('i32.mul').op('i32.add').set(cp);
    f.get(cp).load('f32', 0).tee(lse).op('f32x4.splat').set(lv);
    f.get(cp).load('f32', 4).tee(ca).op('f32x4.splat').set(av);
    f.get(cp).load('f32', 8).tee(cb).op('f32x4.splat').set(bv);
    sweep(f, j, zero, V,
      () => {
        at(out);
        at(x); f.load('v128').get(lv).op('f32x4.sub').set(xv); vexp(f, xv, t); f.get(av).op('f32x4.mul');
        at(q); f.load('v128').get(bv).op('f32x4.mul').op('f32x4.sub');
        f.store('v128');
      },
      () => {
        at(out);
        at(x); f.load('f32').get(lse).op('f32.sub').set(xs); lane0(f, xs, xv, () => vexp(f, xv, t)); f.get(ca).op('f32.mul');
        at(q); f.load('f32').get(cb).op('f32.mul').op('f32.sub');
        f.store('f32');
      });
  });
  return f;
}

// Φ(x) = 1 − ½·erfc(x/√2) for x ≥ 0, ½·erfc(|x|/√2) below, with erfc(z) ≈ t·P(t)·exp(−z²), t = 1/(1 + p·z)
// (Abramowitz & Stegun 7.1.26; |error| ≤ 1.5e-7 on erf, so ≤ 7.5e-8 on Φ: float32 rounding level).
const AS_P = 0.3275911;
const AS_A = [0.254829592, -0.284496736, 1.421413741, -1.453152027, 1.061405429];
const INV_SQRT_2PI = 1 / Math.sqrt(2 * Math.PI);

/** Leaves Φ(x) in local `phi` and exp(−x²/2) in local `e` for the v128 in local x. */
function vphi(f: Fn, x: number, phi: number, e: number, t: Scratch): void {
  const z = t.p;
  f.get(x).op('f32x4.abs').f32x4(Math.SQRT1_2).op('f32x4.mul').set(z);
  // e = exp(−z²); vexp leaves t.p (= z) alone.
  f.get(z).get(z).op('f32x4.mul').op('f32x4.neg').set(e);
  vexp(f, e, t);
  f.set(e);
  // tt = 1/(1 + p·z) -> phi (temporarily)
  f.f32x4(1).f32x4(1).get(z).f32x4(AS_P).op('f32x4.mul').op('f32x4.add').op('f32x4.div').set(phi);
  f.f32x4(AS_A[4]!);
  for (const c of [AS_A[3]!, AS_A[2]!, AS_A[1]!, AS_A[0]!]) f.get(phi).op('f32x4.mul').f32x4(c).op('f32x4.add');
  f.get(phi).op('f32x4.mul').get(e).op('f32x4.mul').f32x4(0.5).op('f32x4.mul').set(z); // z := ½·erfc(|x|/√2)
  // phi = x ≥ 0 ? 1 − half : half
  f.f32x4(1).get(z).op('f32x4.sub').get(z).get(x).f32x4(0).op('f32x4.ge').op('v128.bitselect').set(phi);
}

/** gelu(x, out, n): out = x·Φ(x) (exact GELU). */
function gelu(): Fn {
  const f = new Fn('gelu', ['i32', 'i32', 'i32']);
  const [x, out, n] = [0, 1, 2];
  const j = f.local('i32');
  const xs = f.local('f32');
  const [xv, phi, e] = Array.from({ length: 3 }, () => f.local('v128'));
  const t = scratch(f);
  const zero = (): void => void f.i32(0);
  const body = (): void => {
    vphi(f, xv, phi, e, t);
    f.get(xv).get(phi).op('f32x4.mul');
  };
  sweep(f, j, zero, n,
    () => { addr(f, out, j); addr(f, x, j).load('v128').set(xv); body(); f.store('v128'); },
    () => { addr(f, out, j); addr(f, x, j).load('f32').set(xs); lane0(f, xs, xv, body); f.store('f32'); });
  return f;
}

/** gelu_grad(x, dy, out, n): out = dy·(Φ(x) + x·φ(x)), φ the standard normal density. */
function geluGrad(): Fn {
  const f = new Fn('gelu_grad', ['i32', 'i32', 'i32', 'i32']);
  const [x, dy, out, n] = [0, 1, 2, 3];
  const j = f.local('i32');
  const xs = f.local('f32');
  const [xv, phi, e, dv] = Array.from({ length: 4 }, () => f.local('v128'));
  const t = scratch(f);
  const zero = (): void => void f.i32(0);
  const body = (): void => {
    vphi(f, xv, phi, e, t);
    f.get(phi).get(xv).get(e).op('f32x4.mul').f32x4(INV_SQRT_2PI).op('f32x4.mul').op('f32x4.add').get(dv).op('f32x4.mul');
  };
  sweep(f, j, zero, n,
    () => { addr(f, out, j); addr(f, dy, j).load('v128').set(dv); addr(f, x, j).load('v128').set(xv); body(); f.store('v128'); },
    () => {
      addr(f, out, j); addr(f, dy, j).load('f32').op('f32x4.splat').set(dv); addr(f, x, j).load('f32').set(xs);
      lane0(f, xs, xv, body); f.store('f32');
    });
  return f;
}

/**
 * layer_norm(x, g, b, out, stats, rows, D, eps): out = (x − μ)·ρ·g + b per row, ρ = 1/√(σ² + eps) (two-pass
 * mean and variance); stats[r] = (μ, ρ). D a multiple of 4.
 */
function layerNorm(): Fn {
  const f = new Fn('layer_norm', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32']);
  const [x, g, b, out, stats, rows, D, eps] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, j, base] = Array.from({ length: 3 }, () => f.local('i32'));
  const [mean, rstd] = [f.local('f32'), f.local('f32')];
  const [acc, mv, rv, dv] = Array.from({ length: 4 }, () => f.local('v128'));
  const zero = (): void => void f.i32(0);
  const at = (p: number): void => void f.get(p).get(base).op('i32.add').get(j).i32(4).op('i32.mul').op('i32.add');
  const atCol = (p: number): void => void f.get(p).get(j).i32(4).op('i32.mul').op('i32.add');
  f.for(r, zero, () => f.get(rows), () => {
    f.get(r).get(D).op('i32.mul').i32(4).op('i32.mul').set(base);
    f.f32x4(0).set(acc);
    f.forStep(j, zero, () => f.get(D), 4, () => { at(x); f.load('v128').get(acc).op('f32x4.add').set(acc); });
    hsum(f, acc);
    f.get(D).op('f32.convert_i32_s').op('f32.div').set(mean);
    f.get(mean).op('f32x4.splat').set(mv);
    f.f32x4(0).set(acc);
    f.forStep(j, zero, () => f.get(D), 4, () => { at(x); f.load('v128').get(mv).op('f32x4.sub').set(dv); f.get(dv).get(dv).op('f32x4.mul').get(acc).op('f32x4.add').set(acc); });
    hsum(f, acc);
    f.get(D).op('f32.convert_i32_s').op('f32.div').get(eps).op('f32.add').op('f32.sqrt').set(rstd);
    f.f32(1).get(rstd).op('f32.div').set(rstd);
    f.get(rstd).op('f32x4.splat').set(rv);
    f.forStep(j, zero, () => f.get(D), 4, () => {
      at(out);
      at(x); f.load('v128').get(mv).op('f32x4.sub').get(rv).op('f32x4.mul');
      atCol(g); f.load('v128').op('f32x4.mul');
      atCol(b); f.load('v128').op('f32x4.add');
      f.store('v128');
    });
    f.get(stats).get(r).i32(8).op('i32.mul').op('i32.add').set(j);
    f.get(j).get(mean).store('f32', 0);
    f.get(j).get(rstd).store('f32', 4);
  });
  return f;
}

/**
 * layer_norm_grad(x, g, stats, dy, dx, dgb, rows, D): with x̂ = (x − μ)·ρ and h = dy·g,
 * dx = ρ·(h − mean(h) − x̂·mean(h·x̂)); accumulates dg += dy·x̂ into dgb[0:D] and db += dy into dgb[D:2D]
 * (dgb must start at 0). D a multiple of 4.
 */
function layerNormGrad(): Fn {
  const f = new Fn('layer_norm_grad', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, g, stats, dy, dx, dgb, rows, D] = [0, 1, 2, 3, 4, 5, 6, 7];
  const [r, j, base, sp, D4] = Array.from({ length: 5 }, () => f.local('i32'));
  const [sa, sb] = [f.local('f32'), f.local('f32')];
  const [mv, rv, xh, h, dyv, a1, a2] = Array.from({ length: 7 }, () => f.local('v128'));
  const zero = (): void => void f.i32(0);
  const at = (p: number): void => void f.get(p).get(base).op('i32.add').get(j).i32(4).op('i32.mul').op('i32.add');
  const atCol = (p: number): void => void f.get(p).get(j).i32(4).op('i32.mul').op('i32.add');
  /** xh = (x − μ)·ρ, dyv = dy, h = dy·g at column j. */
  const load = (): void => {
    at(x); f.load('v128').get(mv).op('f32x4.sub').get(rv).op('f32x4.mul').set(xh);
    at(dy); f.load('v128').set(dyv);
    f.get(dyv); atCol(g); f.load('v128').op('f32x4.mul').set(h);
  };
  f.get(D).i32(4).op('i32.mul').set(D4);
  f.for(r, zero, () => f.get(rows), () => {
    f.get(r).get(D).op('i32.mul').i32(4).op('i32.mul').set(base);
    f.get(stats).get(r).i32(8).op('i32.mul').op('i32.add').set(sp);
    f.get(sp).load('f32', 0).op('f32x4.splat').set(mv);
    f.get(sp).load('f32', 4).op('f32x4.splat').set(rv);
    f.f32x4(0).set(a1);
    f.f32x4(0).set(a2);
    f.forStep(j, zero, () => f.get(D), 4, () => {
      load();
      f.get(a1).get(h).op('f32x4.add').set(a1);
      f.get(a2).get(h).get(xh).op('f32x4.mul').op('f32x4.add').set(a2);
      // dg += dy·x̂, db += dy
      atCol(dgb); f.set(sp); f.get(sp).get(sp).load('v128').get(dyv).get(xh).op('f32x4.mul').op('f32x4.add').store('v128');
      f.get(sp).get(D4).op('i32.add').set(sp); f.get(sp).get(sp).load('v128').get(dyv).op('f32x4.add').store('v128');
    });
    hsum(f, a1); f.get(D).op('f32.convert_i32_s').op('f32.div').set(sa);
    hsum(f, a2); f.get(D).op('f32.convert_i32_s').op('f32.div').set(sb);
    f.get(sa).op('f32x4.splat').set(a1);
    f.get(sb).op('f32x4.splat').set(a2);
    f.forStep(j, zero, () => f.get(D), 4, () => {
      load();
      at(dx);
      f.get(h).get(a1).op('f32x4.sub').get(xh).get(a2).op('f32x4.mul').op('f32x4.sub').get(rv).op('f32x4.mul');
      f.store('v128');
    });
  });
  return f;
}

/**
 * adamw(x, g, m, v, xo, mo, vo, n, gscale, b1, c1, b2, c2, bc1, bc2, eps, lr, decay): one AdamW step per
 * element with the same float32 operations, in the same order, as harness/optim/adamw.ts's tensor version:
 * gs = g·gscale, m' = m·b1 + gs·c1, v' = v·b2 + gs²·c2, x' = x·decay − (m'/bc1)/(√(v'/bc2) + eps)·lr.
 */
function adamw(): Fn {
  const f = new Fn('adamw', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32', 'f32']);
  const [x, g, m, v, xo, mo, vo, n] = [0, 1, 2, 3, 4, 5, 6, 7];
  const consts = [8, 9, 10, 11, 12, 13, 14, 15, 16, 17];
  const j = f.local('i32');
  const cv = consts.map(() => f.local('v128'));
  const [gs, mn, vn, tmp] = Array.from({ length: 4 }, () => f.local('v128'));
  const [gscale, b1, c1, b2, c2, bc1, bc2, eps, lr, decay] = cv as [number, number, number, number, number, number, number, number, number, number];
  const zero = (): void => void f.i32(0);
  consts.forEach((c, i) => f.get(c).op('f32x4.splat').set(cv[i]!));
  /** The update on vectors; `ld(p)` pushes element(s) at j of p, `st(p, value)` stores. */
  const step = (ld: (p: number) => void, st: (p: number, value: () => void) => void): void => {
    ld(g); f.get(gscale).op('f32x4.mul').set(gs);
    ld(m); f.get(b1).op('f32x4.mul').get(gs).get(c1).op('f32x4.mul').op('f32x4.add').set(mn);
    ld(v); f.get(b2).op('f32x4.mul').get(gs).get(gs).op('f32x4.mul').get(c2).op('f32x4.mul').op('f32x4.add').set(vn);
    f.get(mn).get(bc1).op('f32x4.div').get(vn).get(bc2).op('f32x4.div').op('f32x4.sqrt').get(eps).op('f32x4.add').op('f32x4.div').set(tmp);
    st(mo, () => f.get(mn));
    st(vo, () => f.get(vn));
    st(xo, () => { ld(x); f.get(decay).op('f32x4.mul').get(tmp).get(lr).op('f32x4.mul').op('f32x4.sub'); });
  };
  sweep(f, j, zero, n,
    () => step((p) => void addr(f, p, j).load('v128'), (p, val) => { addr(f, p, j); val(); f.store('v128'); }),
    () => step((p) => void addr(f, p, j).load('f32').op('f32x4.splat'), (p, val) => { addr(f, p, j); val(); f.lane(0).store('f32'); }));
  return f;
}

/** sumsq(x, n) -> Σ x² (f32). */
function sumsq(): Fn {
  const f = new Fn('sumsq', ['i32', 'i32'], ['f32']);
  const [x, n] = [0, 1];
  const j = f.local('i32');
  const [s, xs] = [f.local('f32'), f.local('f32')];
  const [acc, xv] = [f.local('v128'), f.local('v128')];
  const zero = (): void => void f.i32(0);
  f.f32x4(0).set(acc);
  f.f32(0).set(s);
  sweep(f, j, zero, n,
    () => { addr(f, x, j).load('v128').set(xv); f.get(acc).get(xv).get(xv).op('f32x4.mul').op('f32x4.add').set(acc); },
    () => { addr(f, x, j).load('f32').set(xs); f.get(xs).get(xs).op('f32.mul').get(s).op('f32.add').set(s); });
  hsum(f, acc);
  f.get(s).op('f32.add');
  return f;
}

/**
 * topk_rows(x, exclude, vals, idx, N, V, k): per row of x [N, V], the k largest entries other than column
 * exclude[n], descending (ties: lower column first), written to vals/idx [N, k] (the output row is the
 * sorted buffer). Four columns at a time are skipped with one vector compare once the buffer is full.
 */
function topkRows(): Fn {
  const f = new Fn('topk_rows', ['i32', 'i32', 'i32', 'i32', 'i32', 'i32', 'i32']);
  const [x, exclude, vals, idx, N, V, k] = [0, 1, 2, 3, 4, 5, 6];
  const [n, j, jj, l, row, skip, count, pos, vo, io, V4] = Array.from({ length: 11 }, () => f.local('i32'));
  const [val, thr] = [f.local('f32'), f.local('f32')];
  const zero = (): void => void f.i32(0);
  const vAt = (p: () => void): void => { f.get(vo); p(); f.i32(4).op('i32.mul').op('i32.add'); };
  const iAt = (p: () => void): void => { f.get(io); p(); f.i32(4).op('i32.mul').op('i32.add'); };
  /** Offers column jj (value in `val`) to the row's sorted buffer. */
  const offer = (): void => {
    f.get(jj).get(skip).op('i32.ne').if(() => {
      f.get(row).get(jj).i32(4).op('i32.mul').op('i32.add').load('f32').set(val);
      // Full buffer and not above its smallest: nothing to do.
      f.get(count).get(k).op('i32.eq').get(val).get(thr).op('f32.gt').op('i32.eqz').op('i32.and').op('i32.eqz').if(() => {
        f.get(count).get(k).op('i32.lt_s').if(
          () => { f.get(count).set(pos); f.get(count).i32(1).op('i32.add').set(count); },
          () => void f.get(k).i32(1).op('i32.sub').set(pos),
        );
        f.block(() => f.loop(() => {
          f.get(pos).op('i32.eqz').brIf(1);
          vAt(() => f.get(pos).i32(1).op('i32.sub')); f.load('f32').get(val).op('f32.lt').op('i32.eqz').brIf(1);
          vAt(() => f.get(pos)); vAt(() => f.get(pos).i32(1).op('i32.sub')); f.load('f32').store('f32');
          iAt(() => f.get(pos)); iAt(() => f.get(pos).i32(1).op('i32.sub')); f.load('i32').store('i32');
          f.get(pos).i32(1).op('i32.sub').set(pos).br(0);
        }));
        vAt(() => f.get(pos)); f.get(val).store('f32');
        iAt(() => f.get(pos)); f.get(jj).store('i32');
        f.get(count).get(k).op('i32.eq').if(() => { vAt(() => f.get(k).i32(1).op('i32.sub')); f.load('f32').set(thr); });
      });
    });
  };
  f.get(V).i32(4).op('i32.mul').set(V4);
  f.for(n, zero, () => f.get(N), () => {
    f.get(x).get(n).get(V4).op('i32.mul').op('i32.add').set(row);
    f.get(exclude).get(n).i32(4).op('i32.mul').op('i32.add').load('i32').set(skip);
    f.get(vals).get(n).get(k).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(vo);
    f.get(idx).get(n).get(k).op('i32.mul').i32(4).op('i32.mul').op('i32.add').set(io);
    f.i32(0).set(count);
    f.f32(-Infinity).set(thr);
    f.forStep(j, zero, () => f.get(V), 4, () => {
      // Any of the 4 above the threshold (always, until the buffer is full)?
      f.get(count).get(k).op('i32.lt_s');
      f.get(row).get(j).i32(4).op('i32.mul').op('i32.add').load('v128').get(thr).op('f32x4.splat').op('f32x4.gt').op('v128.any_true');
      f.op('i32.or').if(() => {
        f.for(l, zero, () => f.i32(4), () => { f.get(j).get(l).op('i32.add').set(jj); offer(); });
      });
    });
    f.for(jj, () => f.get(j), () => f.get(V), offer);
  });
  return f;
}

/** The exports of the kernel module (addresses are byte offsets into the tfjs wasm heap). */
export interface KernelExports {
  bmm(a: number, b: number, c: number, batch: number, M: number, K: number, N: number, saI: number, saK: number, saB: number, sbB: number): void;
  transpose(x: number, out: number, batch: number, R: number, C: number): void;
  colsum(x: number, out: number, rows: number, cols: number): void;
  softmax_rows(s: number, out: number, rows: number, T: number, scale: number, causal: number): void;
  softmax_grad(p: number, dp: number, out: number, rows: number, T: number, scale: number): void;
  row_stats(x: number, q: number, out: number, rows: number, V: number, withQ: number): void;
  ce_grad(x: number, q: number, coef: number, out: number, rows: number, V: number): void;
  gelu(x: number, out: number, n: number): void;
  gelu_grad(x: number, dy: number, out: number, n: number): void;
  layer_norm(x: number, g: number, b: number, out: number, stats: number, rows: number, D: number, eps: number): void;
  layer_norm_grad(x: number, g: number, stats: number, dy: number, dx: number, dgb: number, rows: number, D: number): void;
  adamw(x: number, g: number, m: number, v: number, xo: number, mo: number, vo: number, n: number,
    gscale: number, b1: number, c1: number, b2: number, c2: number, bc1: number, bc2: number, eps: number, lr: number, decay: number): void;
  sumsq(x: number, n: number): number;
  topk_rows(x: number, exclude: number, vals: number, idx: number, N: number, V: number, k: number): void;
}

let bytes: Uint8Array | undefined;

/** The kernel module's binary (built once). */
export function kernelModuleBytes(): Uint8Array {
  bytes ??= assemble([bmm(), transpose(), colsum(), softmaxRows(), softmaxGrad(), rowStats(), ceGrad(), gelu(), geluGrad(), layerNorm(), layerNormGrad(), adamw(), sumsq(), topkRows()]);
  return bytes;
}

/** Instantiates the kernels over `memory` (the tfjs wasm heap). */
export function instantiateKernels(memory: WebAssembly.Memory): KernelExports {
  const mod = new WebAssembly.Module(kernelModuleBytes());
  return new WebAssembly.Instance(mod, { env: { memory } }).exports as unknown as KernelExports;
}
