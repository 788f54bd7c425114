/**
 * GSM8K in its published JSONL form: one object per line with `question` and `answer`, where the answer is a
 * worked solution ending in "#### N".
 */
import { readFileSync } from 'node:fs';

export interface Gsm8kItem {
  question: string;
  answer: string;
}

/** Reads a GSM8K JSONL file; a malformed line is an error naming the file and line. */
export function loadGsm8k(path: string): Gsm8kItem[] {
  return readJsonl(path, (obj, where) => {
    const { question, answer } = obj as Partial<Gsm8kItem>;
    if (typeof question !== 'string') throw new Error(`${where}: field 'question' must be a string`);
    if (typeof answer !== 'string') throw new Error(`${where}: field 'answer' must be a string`);
    return { question, answer };
  });
}

/** The gold final answer: the text after the last "####", without thousands commas; undefined if absent. */
export function parseGoldAnswer(answer: string): string | undefined {
  const i = answer.lastIndexOf('####');
  if (i < 0) return undefined;
  const raw = answer.slice(i + 4).trim().replace(/,/g, '');
  return /^-?\d+(\.\d+)?$/.test(raw) ? raw : undefined;
}

/** Parses JSONL, calling `row` per non-empty line; errors name `file:line`. */
export function readJsonl<T>(path: string, row: (obj: unknown, where: string) => T): T[] {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (e) {
    throw new Error(`cannot read ${path}: ${(e as Error).message}`);
  }
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${path}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new Error(`${where}: invalid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null) throw new Error(`${where}: expected a JSON object`);
    out.push(row(obj, where));
  });
  return out;
}
