/**
 * Near-duplicate screening of the continued-pretraining stream against benchmark problems: MinHash
 * signatures of word n-gram sets, LSH banding to find candidate pairs, then an exact Jaccard check on the
 * n-gram sets. A stream item is removed when its Jaccard similarity with any reference reaches the threshold.
 * The references are the evaluation sets (GSM8K test, MATH test; GSM8K train on request), and where the stream
 * carries the generator's leak labels the removal is scored against them (precision and recall by leak kind).
 */
import { Rng } from '../../engine/rng.js';
import type { DecontamConfig } from '../schema.js';
import type { NuminaRow } from './numina.js';

/** Lower-cased alphanumeric words. */
export function words(text: string): string[] {
  return text.toLowerCase().match(/[a-z0-9]+/g) ?? [];
}

function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) h = Math.imul(h ^ s.charCodeAt(i), 0x01000193);
  return h >>> 0;
}

/** Hashed word n-grams (a text shorter than n words is one gram). */
export function shingles(text: string, n: number): Set<number> {
  const w = words(text);
  const out = new Set<number>();
  if (w.length === 0) return out;
  if (w.length <= n) out.add(hash32(w.join(' ')));
  else for (let i = 0; i + n <= w.length; i++) out.add(hash32(w.slice(i, i + n).join(' ')));
  return out;
}

export function jaccard(a: Set<number>, b: Set<number>): number {
  if (a.size === 0 && b.size === 0) return 1;
  let inter = 0;
  const [small, large] = a.size <= b.size ? [a, b] : [b, a];
  for (const x of small) if (large.has(x)) inter++;
  return inter / (a.size + b.size - inter);
}

class MinHasher {
  private readonly a: Uint32Array;
  private readonly b: Uint32Array;

  constructor(readonly k: number, seed = 42) {
    const rng = new Rng(seed);
    this.a = Uint32Array.from({ length: k }, () => rng.nextUint32() | 1);
    this.b = Uint32Array.from({ length: k }, () => rng.nextUint32());
  }

  signature(set: Set<number>): Uint32Array {
    const sig = new Uint32Array(this.k).fill(0xffffffff);
    for (const x of set) {
      for (let i = 0; i < this.k; i++) {
        // Keep every intermediate unsigned: a signed value would compare wrongly with the Uint32Array.
        let h = (Math.imul(this.a[i] as number, x) + (this.b[i] as number)) >>> 0;
        h = (h ^ (h >>> 15)) >>> 0;
        h = Math.imul(h, 0x2c1b3c6d) >>> 0;
        h = (h ^ (h >>> 12)) >>> 0;
        if (h < (sig[i] as number)) sig[i] = h;
      }
    }
    return sig;
  }
}

export interface DecontamResult {
  /** Indices of removed stream items. */
  removed: Set<number>;
  /** For each removed item, the reference index it matched and the Jaccard value. */
  matches: Map<number, { ref: number; jaccard: number }>;
  ms: number;
}

export type ScreenConfig = Pick<DecontamConfig, 'ngram' | 'permutations' | 'bands' | 'threshold'>;

export function decontaminateStream(stream: readonly string[], references: readonly string[], cfg: ScreenConfig): DecontamResult {
  if (cfg.permutations % cfg.bands !== 0) {
    throw new Error(`decontamination.permutations (${cfg.permutations}) must be a multiple of decontamination.bands (${cfg.bands})`);
  }
  const t0 = performance.now();
  const rows = cfg.permutations / cfg.bands;
  const mh = new MinHasher(cfg.permutations);
  const bandKey = (sig: Uint32Array, band: number): string => `${band}:${sig.subarray(band * rows, (band + 1) * rows).join(',')}`;
  const refSets = references.map((r) => shingles(r, cfg.ngram));
  const buckets = new Map<string, number[]>();
  refSets.forEach((set, i) => {
    if (set.size === 0) return;
    const sig = mh.signature(set);
    for (let band = 0; band < cfg.bands; band++) {
      const key = bandKey(sig, band);
      const list = buckets.get(key);
      if (list) list.push(i);
      else buckets.set(key, [i]);
    }
  });
  const removed = new Set<number>();
  const matches = new Map<number, { ref: number; jaccard: number }>();
  stream.forEach((text, i) => {
    const set = shingles(text, cfg.ngram);
    if (set.size === 0) return;
    const sig = mh.signature(set);
    const seen = new Set<number>();
    for (let band = 0; band < cfg.bands; band++) {
      for (const ref of buckets.get(bandKey(sig, band)) ?? []) {
        if (seen.has(ref)) continue;
        seen.add(ref);
        const j = jaccard(set, refSets[ref] as Set<number>);
        if (j >= cfg.threshold) {
          removed.add(i);
          matches.set(i, { ref, jaccard: j });
          return;
        }
      }
    }
  });
  return { removed, matches, ms: performance.now() - t0 };
}

/** The texts a stream is screened against: GSM8K test and MATH test questions, and GSM8K train with `screenTrain`. */
export function decontamReferences(
  data: { test: readonly { question: string }[]; train: readonly { question: string }[]; mathTest: readonly string[] },
  cfg: Pick<DecontamConfig, 'screenTrain'>,
): string[] {
  return [...data.test.map((x) => x.question), ...data.mathTest, ...(cfg.screenTrain ? data.train.map((x) => x.question) : [])];
}

/** Removal scored against the generator's leak labels, for one leak kind or all. */
export interface LeakRecall {
  /** Leaked rows of this kind in the stream. */
  leaks: number;
  /** Of those, removed. */
  caught: number;
  /** caught / leaks (null without leaks). */
  recall: number | null;
}

export interface DecontamReport {
  /** Stream rows screened and removed. */
  screened: number;
  removed: number;
  removedFraction: number;
  /** Whether the stream carries leak labels (the embedded generator's `vpt_leak_kind`); without them precision
   * and recall are null. */
  labelled: boolean;
  /** Removed rows that are not labelled leaks. */
  falsePositives: number;
  /** Labelled leaks among the removed rows (null when nothing was removed or the stream is unlabelled). */
  precision: number | null;
  /** Removed among the labelled leaks (null when the stream holds none). */
  recall: number | null;
  /** Recall by leak kind ('verbatim', 'prefix', 'names', 'numbers', 'reorder', combinations). */
  byKind: Record<string, LeakRecall>;
}

/**
 * Precision and recall of a removal against the leak labels of the stream rows (pure; rows are the stream in
 * order, `removed` indexes into it).
 */
export function decontamReport(removed: ReadonlySet<number> | readonly number[], rows: readonly Pick<NuminaRow, 'vpt_leak_kind'>[]): DecontamReport {
  const gone = removed instanceof Set ? (removed as ReadonlySet<number>) : new Set(removed as readonly number[]);
  for (const i of gone) if (!Number.isInteger(i) || i < 0 || i >= rows.length) throw new Error(`decontamReport: removed index ${i} is outside the stream of ${rows.length} rows`);
  const byKind: Record<string, LeakRecall> = {};
  let leaks = 0, caught = 0;
  rows.forEach((r, i) => {
    if (r.vpt_leak_kind === undefined) return;
    byKind[r.vpt_leak_kind] ??= { leaks: 0, caught: 0, recall: null };
    const k = byKind[r.vpt_leak_kind] as LeakRecall;
    k.leaks++;
    leaks++;
    if (gone.has(i)) {
      k.caught++;
      caught++;
    }
  });
  for (const k of Object.values(byKind)) k.recall = k.caught / k.leaks;
  const labelled = leaks > 0;
  return {
    screened: rows.length,
    removed: gone.size,
    removedFraction: rows.length ? gone.size / rows.length : 0,
    labelled,
    falsePositives: gone.size - caught,
    precision: labelled && gone.size > 0 ? caught / gone.size : null,
    recall: labelled ? caught / leaks : null,
    byKind,
  };
}
