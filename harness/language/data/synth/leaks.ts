/**
 * Contamination as it occurs in real corpora: copies of test problems, verbatim or edited the ways scraped and
 * rewritten copies are (an instruction or numbering prefix added, the names changed, the numbers changed, the
 * sentences reordered, and combinations). Each leaked stream row is labelled with its kind so decontamination
 * can be scored against it.
 */
import type { Rng } from '../../../engine/rng.js';
import { okValues, replayDraws, render, WORDS, type DrawRecord, type Family, type Rendered, type WordKind } from './families.js';

/** The kinds of leaked copy; a combination lists its edits joined by '+'. */
export const LEAK_KINDS = [
  'verbatim',
  'prefix',
  'names',
  'numbers',
  'reorder',
  'prefix+names',
  'names+reorder',
  'prefix+numbers',
  'names+numbers+reorder',
] as const;
export type LeakKind = (typeof LEAK_KINDS)[number];

/** Text scrapers and dataset builders put before copied problems. */
export const LEAK_PREFIXES = [
  'Solve the following problem. ',
  'Problem: ',
  'Answer the question below and show your work.\n',
  'Here is a math word problem. ',
  'Read the problem carefully and give the final answer. ',
  'Q: ',
];

/** Splits a question into sentences (after ".", "?" or "!" followed by a space). */
export function sentences(text: string): string[] {
  return text.split(/(?<=[.?!])\s+/).filter((x) => x.length > 0);
}

/** The sentences in a different order (never the original one, unless there is only one sentence). */
export function reorderSentences(text: string, rng: Rng): string {
  const parts = sentences(text);
  if (parts.length < 2) return text;
  for (;;) {
    const order = rng.shuffle(parts.map((_, i) => i));
    if (order.some((v, i) => v !== i)) return order.map((i) => parts[i]).join(' ');
  }
}

/** A leaked copy of a test problem (made by `fam` with the draws `rec`, rendered as `original`) of kind `kind`. */
export function makeLeak(fam: Family, rec: DrawRecord, original: Rendered, kind: LeakKind, rng: Rng): Rendered {
  const edits = new Set(kind.split('+'));
  let out = original;
  if (edits.has('names') || edits.has('numbers')) {
    const renamed = new Map<string, string>();
    const rename = (k: WordKind, v: string): string => {
      if (k !== 'name' || !edits.has('names')) return v;
      if (!renamed.has(v)) renamed.set(v, rng.pick(WORDS.name.filter((n) => n !== v)));
      return renamed.get(v) as string;
    };
    for (let tries = 0; ; tries++) {
      if (tries > 1000) throw new Error(`leaks: no valid ${kind} edit of "${original.question}"`);
      const p = fam.make(replayDraws(rec, { rename, ...(edits.has('numbers') ? { freshNums: rng } : {}) }));
      const r = render(p);
      if (!okValues(r)) continue;
      if (edits.has('numbers') && sameNumbers(r.question, original.question)) continue;
      out = r;
      break;
    }
  }
  let question = out.question;
  if (edits.has('reorder')) question = reorderSentences(question, rng);
  if (edits.has('prefix')) question = rng.pick(LEAK_PREFIXES) + question;
  return { ...out, question };
}

/** Same numbers, in any order (a swap of two numbers does not count as changing them). */
function sameNumbers(a: string, b: string): boolean {
  const nums = (t: string): string => (t.match(/\d+/g) ?? []).sort().join(',');
  return nums(a) === nums(b);
}
