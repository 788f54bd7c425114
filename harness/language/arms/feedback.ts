/**
 * Feedback rows for the designer arms: one right-padded teacher-forced row per problem, batches trimmed to
 * what their loss reads, and the shuffled-feedback control's rows (each question paired with another
 * problem's worked answer).
 */
import type { TokenRows } from '../data/pack.js';
import type { Rng } from '../../engine/rng.js';

/**
 * Drops the columns after the last one any row's loss reads: feedback rows are padded to the longest problem
 * of the whole set, and with causal attention the trailing padding changes nothing before it.
 */
export function trimPadding(r: TokenRows): TokenRows {
  let last = -1;
  for (let i = 0; i < r.rows; i++) {
    for (let t = r.seqLen - 1; t > last; t--) {
      if (r.mask[i * r.seqLen + t] !== 0) {
        last = t;
        break;
      }
    }
  }
  const len = last + 1;
  if (len <= 0 || len === r.seqLen) return r;
  const cut = <A extends Int32Array | Float32Array | Uint8Array>(src: A, out: A): A => {
    for (let i = 0; i < r.rows; i++) out.set(src.subarray(i * r.seqLen, i * r.seqLen + len), i * len);
    return out;
  };
  return {
    rows: r.rows, seqLen: len,
    inputs: cut(r.inputs, new Int32Array(r.rows * len)), targets: cut(r.targets, new Int32Array(r.rows * len)),
    mask: cut(r.mask, new Float32Array(r.rows * len)), wrong: cut(r.wrong, new Uint8Array(r.rows * len)),
  };
}

/** A row of padded teacher-forced rows split back into its question tokens and its answer tokens (end-of-text included). */
function splitRow(r: TokenRows, i: number): { prompt: number[]; answer: number[] } {
  const L = r.seqLen;
  const first = r.mask.subarray(i * L, (i + 1) * L).findIndex((m) => m !== 0);
  if (first < 0) throw new Error(`feedback row ${i + 1} has no answer tokens`);
  const prompt = Array.from(r.inputs.subarray(i * L, i * L + first + 1));
  const answer: number[] = [];
  for (let t = first; t < L && r.mask[i * L + t] !== 0; t++) answer.push(r.targets[i * L + t] as number);
  return { prompt, answer };
}

/**
 * The shuffled-feedback control's rows: question i with the worked answer of problem π(i), π a random
 * derangement (a cyclic shift of a seeded permutation: no question keeps its own answer), so g_down has
 * the scale and format of the real one but the wrong content. Rows longer than `maxLen` lose their tail.
 */
export function shuffleAnswers(r: TokenRows, rng: Rng, eosId: number, maxLen: number): TokenRows {
  if (r.rows < 2) throw new Error(`shuffled feedback needs at least 2 feedback problems, got ${r.rows} (design.feedbackSize, from GSM8K train less the validation slice eval.downstream.size)`);
  const parts = Array.from({ length: r.rows }, (_, i) => splitRow(r, i));
  const order = rng.shuffle(Array.from({ length: r.rows }, (_, i) => i));
  const answerOf = new Array<number>(r.rows);
  order.forEach((q, k) => (answerOf[q] = order[(k + 1) % order.length] as number));
  const docs = parts.map((p, i) => [...p.prompt, ...(parts[answerOf[i] as number] as { answer: number[] }).answer].slice(0, maxLen + 1));
  const promptLen = parts.map((p) => p.prompt.length);
  const seqLen = Math.max(...docs.map((d) => d.length - 1));
  const n = r.rows * seqLen;
  const out: TokenRows = { rows: r.rows, seqLen, inputs: new Int32Array(n).fill(eosId), targets: new Int32Array(n).fill(eosId), mask: new Float32Array(n), wrong: new Uint8Array(n) };
  docs.forEach((d, i) => {
    for (let t = 0; t < d.length - 1; t++) {
      out.inputs[i * seqLen + t] = d[t] as number;
      out.targets[i * seqLen + t] = d[t + 1] as number;
      out.mask[i * seqLen + t] = t + 1 >= (promptLen[i] as number) ? 1 : 0;
    }
  });
  return out;
}
