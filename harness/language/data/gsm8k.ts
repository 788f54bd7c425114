/**
 * GSM8K in its published JSONL form: one object per line with `question` and `answer`, where the answer is a
 * worked solution ending in "#### N".
 */
import { readFileSync } from 'node:fs';
import { DataError } from '../../errors.js';

export interface Gsm8kItem {
  question: string;
  answer: string;
  /** The embedded generator's problem family (`vpt_family`); real GSM8K has none. */
  family?: string;
}

/**
 * Reads a GSM8K JSONL file. A malformed line, or an answer without a parseable final "#### N" (an item that
 * could never be scored), is an error naming the file and line.
 */
export function loadGsm8k(path: string): Gsm8kItem[] {
  return readJsonl(path, (obj, where) => {
    const { question, answer, vpt_family: family } = obj as Partial<Gsm8kItem> & { vpt_family?: unknown };
    if (typeof question !== 'string') throw new DataError(`${where}: field 'question' must be a string`);
    if (typeof answer !== 'string') throw new DataError(`${where}: field 'answer' must be a string`);
    if (parseGoldAnswer(answer) === undefined) {
      const tail = answer.length > 40 ? `…${answer.slice(-40)}` : answer;
      throw new DataError(`${where}: the answer has no final '#### N' with a number (it ends ${JSON.stringify(tail)})`);
    }
    if (family !== undefined && typeof family !== 'string') throw new DataError(`${where}: field 'vpt_family' must be a string`);
    return { question, answer, ...(family !== undefined ? { family } : {}) };
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
    throw new DataError(`${path}: ${readFailure(e)}`);
  }
  const out: T[] = [];
  text.split('\n').forEach((line, i) => {
    if (!line.trim()) return;
    const where = `${path}:${i + 1}`;
    let obj: unknown;
    try {
      obj = JSON.parse(line);
    } catch (e) {
      throw new DataError(`${where}: invalid JSON (${(e as Error).message})`);
    }
    if (typeof obj !== 'object' || obj === null || Array.isArray(obj)) throw new DataError(`${where}: expected a JSON object`);
    out.push(row(obj, where));
  });
  return out;
}

/** Why a file could not be read, in a few words (no such file, a folder, no permission). */
export function readFailure(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOENT') return 'no such file';
  if (code === 'EISDIR') return 'is a folder, not a file';
  if (code === 'EACCES') return 'permission denied';
  return `cannot be read (${(e as Error).message})`;
}

/** The last `size` train problems are the validation slice; the rest are the feedback pool. */
export function splitValidation(train: readonly Gsm8kItem[], size: number): { pool: Gsm8kItem[]; validation: Gsm8kItem[] } {
  const n = Math.min(size, Math.max(0, train.length - 1));
  return { pool: train.slice(0, train.length - n), validation: train.slice(train.length - n) };
}
