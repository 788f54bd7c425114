/**
 * Token packing. A question/answer document becomes prompt tokens (no loss) + answer tokens + end-of-text
 * (loss); documents are concatenated and cut into fixed-length rows for continued pretraining, or kept one
 * per row (right-padded) for the teacher-forced downstream loss.
 */
import type { TextTokenizer } from '../model/text-tokenizer.js';

/** Rows of `seqLen` positions: inputs, next-token targets, loss mask (1 on answer targets), and a flag on
 * targets that lie inside a deliberately wrong result (for the designer's gate statistics). */
export interface TokenRows {
  rows: number;
  seqLen: number;
  inputs: Int32Array;
  targets: Int32Array;
  mask: Float32Array;
  wrong: Uint8Array;
}

export interface QADoc {
  prompt: string;
  answer: string;
  /** Character spans inside `answer` that hold wrong results. */
  wrongSpans?: [number, number][];
}

interface EncodedDoc {
  ids: number[];
  mask: number[];
  wrong: number[];
}

export function encodeDoc(tok: TextTokenizer, doc: QADoc): EncodedDoc {
  const p = tok.encode(doc.prompt);
  const spans = doc.wrongSpans ?? [];
  // Offsets only where there are labelled spans to flag (they cost a pretrained tokenizer a decode per token).
  const a = spans.length ? tok.encodeWithOffsets(doc.answer) : { ids: tok.encode(doc.answer), offsets: [] as number[] };
  // A token is flagged when its piece overlaps a span: a number's piece starts at its leading space.
  const pieceEnd = (k: number): number => {
    const start = a.offsets[k] as number;
    for (let j = k + 1; j < a.offsets.length; j++) if ((a.offsets[j] as number) > start) return a.offsets[j] as number;
    return doc.answer.length;
  };
  const inWrong = (off: number, k: number): number => {
    if (spans.length === 0) return 0;
    const end = pieceEnd(k);
    return spans.some(([s, e]) => off < e && end > s) ? 1 : 0;
  };
  return {
    ids: [...p, ...a.ids, tok.eosId],
    mask: [...p.map(() => 0), ...a.ids.map(() => 1), 1],
    wrong: [...p.map(() => 0), ...(spans.length ? a.offsets.map(inWrong) : a.ids.map(() => 0)), 0],
  };
}

function allocRows(rows: number, seqLen: number): TokenRows {
  const n = rows * seqLen;
  return { rows, seqLen, inputs: new Int32Array(n), targets: new Int32Array(n), mask: new Float32Array(n), wrong: new Uint8Array(n) };
}

/** Concatenates documents and cuts them into rows of `seqLen` inputs (+1 for the shifted targets). */
export function packDocs(tok: TextTokenizer, docs: Iterable<QADoc>, seqLen: number): TokenRows {
  const ids: number[] = [];
  const mask: number[] = [];
  const wrong: number[] = [];
  for (const d of docs) {
    const e = encodeDoc(tok, d);
    for (let i = 0; i < e.ids.length; i++) {
      ids.push(e.ids[i] as number);
      mask.push(e.mask[i] as number);
      wrong.push(e.wrong[i] as number);
    }
  }
  const rows = Math.floor((ids.length - 1) / seqLen);
  if (rows < 1) throw new Error(`too little text to fill one row of ${seqLen} tokens`);
  const out = allocRows(rows, seqLen);
  for (let r = 0; r < rows; r++) {
    for (let t = 0; t < seqLen; t++) {
      const i = r * seqLen + t;
      out.inputs[i] = ids[i] as number;
      out.targets[i] = ids[i + 1] as number;
      out.mask[i] = mask[i + 1] as number;
      out.wrong[i] = wrong[i + 1] as number;
    }
  }
  return out;
}

/** One document per row, right-padded with end-of-text (mask 0); rows longer than `maxLen` are an error. */
export function padDocs(tok: TextTokenizer, docs: readonly QADoc[], maxLen?: number): TokenRows {
  const enc = docs.map((d) => encodeDoc(tok, d));
  const longest = Math.max(...enc.map((e) => e.ids.length - 1));
  const seqLen = maxLen === undefined ? longest : maxLen;
  if (longest > seqLen) throw new Error(`a document has ${longest + 1} tokens, more than the context of ${seqLen + 1}`);
  const out = allocRows(docs.length, seqLen);
  out.inputs.fill(tok.eosId);
  out.targets.fill(tok.eosId);
  enc.forEach((e, r) => {
    for (let t = 0; t < e.ids.length - 1; t++) {
      const i = r * seqLen + t;
      out.inputs[i] = e.ids[t] as number;
      out.targets[i] = e.ids[t + 1] as number;
      out.mask[i] = e.mask[t + 1] as number;
    }
  });
  return out;
}

/** Selects rows by index into a new TokenRows (a batch). */
export function selectRows(src: TokenRows, idx: readonly number[]): TokenRows {
  const out = allocRows(idx.length, src.seqLen);
  const L = src.seqLen;
  idx.forEach((r, k) => {
    out.inputs.set(src.inputs.subarray(r * L, (r + 1) * L), k * L);
    out.targets.set(src.targets.subarray(r * L, (r + 1) * L), k * L);
    out.mask.set(src.mask.subarray(r * L, (r + 1) * L), k * L);
    out.wrong.set(src.wrong.subarray(r * L, (r + 1) * L), k * L);
  });
  return out;
}
