/**
 * NuminaMath-CoT rows (`source`, `problem`, `solution`, `messages`) from JSONL or parquet, formatted as the
 * continued-pretraining text "Question: …\nAnswer: …".
 */
import { readFileSync } from 'node:fs';
import { parquetReadObjects } from 'hyparquet';
import { DataError } from '../../errors.js';
import { readFailure, readJsonl } from './gsm8k.js';

export interface NuminaRow {
  source: string;
  problem: string;
  solution: string;
  messages: { role: string; content: string }[];
  /** Character spans inside `solution` of the tokens a learner would learn wrongly from (embedded stream only). */
  vpt_corrupt_spans?: [number, number][];
  /** How a leaked copy of a test problem was edited, e.g. 'verbatim', 'names+reorder' (embedded stream only). */
  vpt_leak_kind?: string;
  /** Index in the test split of the problem this row leaks (embedded stream only). */
  vpt_leak_test?: number;
}

function checkRow(obj: Record<string, unknown>, where: string): NuminaRow {
  for (const key of ['source', 'problem', 'solution'] as const) {
    if (typeof obj[key] !== 'string') throw new DataError(`${where}: field '${key}' must be a string`);
  }
  const messages = obj.messages ?? [];
  if (!Array.isArray(messages)) throw new DataError(`${where}: field 'messages' must be a list`);
  const row: NuminaRow = {
    source: obj.source as string,
    problem: obj.problem as string,
    solution: obj.solution as string,
    messages: messages as NuminaRow['messages'],
  };
  if (Array.isArray(obj.vpt_corrupt_spans)) row.vpt_corrupt_spans = obj.vpt_corrupt_spans as [number, number][];
  if (typeof obj.vpt_leak_kind === 'string') row.vpt_leak_kind = obj.vpt_leak_kind;
  if (typeof obj.vpt_leak_test === 'number') row.vpt_leak_test = obj.vpt_leak_test;
  return row;
}

export function loadNuminaJsonl(path: string): NuminaRow[] {
  return readJsonl(path, (obj, where) => checkRow(obj as Record<string, unknown>, where));
}

export async function loadNuminaParquet(path: string): Promise<NuminaRow[]> {
  let buf: Buffer;
  try {
    buf = readFileSync(path);
  } catch (e) {
    throw new DataError(`${path}: ${readFailure(e)}`);
  }
  const file = buf.buffer.slice(buf.byteOffset, buf.byteOffset + buf.byteLength) as ArrayBuffer;
  let rows: Record<string, unknown>[];
  try {
    rows = (await parquetReadObjects({ file })) as Record<string, unknown>[];
  } catch (e) {
    throw new DataError(`${path}: not a readable parquet file (${(e as Error).message})`);
  }
  return rows.map((r, i) => checkRow(r, `${path}: row ${i}`));
}

/** Loads by extension (.jsonl or .parquet). */
export async function loadNumina(path: string): Promise<NuminaRow[]> {
  if (path.endsWith('.parquet')) return loadNuminaParquet(path);
  if (path.endsWith('.jsonl')) return loadNuminaJsonl(path);
  throw new DataError(`${path}: expected a .jsonl or .parquet NuminaMath-CoT file`);
}

/** "Question: …\nAnswer:" and " …" (lm-eval's target delimiter is one space). */
export function formatQA(question: string, answer: string): { prompt: string; answer: string } {
  return { prompt: `Question: ${question}\nAnswer:`, answer: ` ${answer}` };
}
