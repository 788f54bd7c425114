/**
 * Feedback rows for the designer arms: one right-padded teacher-forced row per problem, batches trimmed to
 * what their loss reads, and the shuffled-feedback control's rows (each question paired with another
 * problem's worked answer).
 */
import type { TokenRows } from '../data/pack.js';
import type { Gsm8kItem } from '../data/gsm8k.js';
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
 * the scale and format of the real one but the wrong content. With the problems' `families` (embedded data), π
 * takes every answer from another family: the permutation is grouped by family and shifted by the largest
 * family's size, so the operations after each question are another kind of problem's (an answer of the same
 * family would still carry the right operation at the positions that matter). Rows longer than `maxLen` lose
 * their tail.
 */
export function shuffleAnswers(r: TokenRows, rng: Rng, eosId: number, maxLen: number, families?: readonly string[]): TokenRows {
  if (r.rows < 2) throw new Error(`shuffled feedback needs at least 2 feedback problems, got ${r.rows} (design.feedbackSize, from GSM8K train less the validation slice eval.downstream.size)`);
  const parts = Array.from({ length: r.rows }, (_, i) => splitRow(r, i));
  let order = rng.shuffle(Array.from({ length: r.rows }, (_, i) => i));
  let shift = 1;
  if (families) {
    if (families.length !== r.rows) throw new Error(`shuffled feedback: ${families.length} family names for ${r.rows} feedback problems`);
    const groups = new Map<string, number[]>();
    for (const q of order) {
      const f = families[q] as string;
      groups.set(f, [...(groups.get(f) ?? []), q]);
    }
    const [largest, size] = [...groups.entries()].reduce((a, [f, g]) => (g.length > a[1] ? [f, g.length] : a), ['', 0]);
    if (2 * size > r.rows) throw new Error(`shuffled feedback from other families: family '${largest}' holds ${size} of the ${r.rows} feedback problems, more than half, so not every question can take another family's answer`);
    order = [...groups.values()].flat();
    shift = size;
  }
  const answerOf = new Array<number>(r.rows);
  order.forEach((q, k) => (answerOf[q] = order[(k + shift) % order.length] as number));
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

/** The feedback problems' families when every one names its family (embedded data), for shuffleAnswers. */
export function familiesOf(feedback: readonly Gsm8kItem[]): { families?: string[] } {
  return feedback.length && feedback.every((f) => f.family !== undefined) ? { families: feedback.map((f) => f.family as string) } : {};
}
