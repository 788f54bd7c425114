/**
 * lm-evaluation-harness gsm8k (task version 3) answer extraction and scoring:
 * - strict-match: first match of "#### (\-?[0-9\.\,]+)";
 * - flexible-extract: last match of "(-?[$0-9.,]{2,})|(-?[0-9]+)";
 * - no match gives "[invalid]";
 * - exact_match ignores case and removes ",", "$", everything up to "#### ", and a trailing "." from both the
 *   prediction and the reference before comparing strings (so "$29.00" does not match "29": lm-eval behaviour).
 */
export const INVALID = '[invalid]';
export const FILTERS = ['strict-match', 'flexible-extract'] as const;
export type FilterName = (typeof FILTERS)[number];

export function strictMatch(text: string): string {
  const m = /#### (-?[0-9.,]+)/.exec(text);
  return m ? (m[1] as string) : INVALID;
}

export function flexibleExtract(text: string): string {
  const all = [...text.matchAll(/(-?[$0-9.,]{2,})|(-?[0-9]+)/g)];
  const last = all[all.length - 1];
  if (!last) return INVALID;
  return (last[1] ?? last[2]) as string;
}

export function extract(filter: FilterName, text: string): string {
  return filter === 'strict-match' ? strictMatch(text) : flexibleExtract(text);
}

/** lm-eval's regexes_to_ignore + ignore_case, applied to prediction and reference alike. */
export function normalize(s: string): string {
  return s.replace(/,/g, '').replace(/\$/g, '').replace(/^[\s\S]*#### /, '').replace(/\.$/, '').toLowerCase();
}

/** exact_match between an extracted prediction and the reference (the full gold answer text). */
export function exactMatch(prediction: string, reference: string): boolean {
  return normalize(prediction) === normalize(reference);
}
