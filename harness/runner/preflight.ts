/**
 * Checks a suite's data before any training, so a bad input costs seconds, not a base stage: every file exists
 * and parses (the loaders name the file and line or row), no split is empty, every GSM8K answer has a final
 * "#### N", every evaluated test problem and every feedback problem fits the context, and the streams fill
 * enough rows for a batch. `vpt validate` and the start of `vpt run` call it.
 */
import { armRegistry } from '../arms/index.js';
import { DataError } from '../data/gsm8k.js';
import { formatQA } from '../data/numina.js';
import { encodeDoc, type QADoc } from '../data/pack.js';
import { loadData, type LoadedData } from '../data/sources.js';
import { buildPrompt, chooseShots } from '../eval/gsm8k/evaluate.js';
import type { Tokenizer } from '../lm/tokenizer.js';
import type { Suite } from '../suite/schema.js';
import { baseTokenizer } from './base.js';

export interface Preflight {
  data: LoadedData;
  tokenizer: Tokenizer;
}

/** Where a split's file lives, for messages (the generated file for embedded data). */
function fileOf(s: Suite, key: 'gsm8kTrain' | 'gsm8kTest'): string {
  return s.data.kind === 'files' ? s.data[key] : `the embedded ${key === 'gsm8kTest' ? 'test' : 'train'} split`;
}

/** Tokens a teacher-forced row of `doc` needs (inputs are one shorter than the encoded document). */
function rowLength(tok: Tokenizer, doc: QADoc): number {
  return encodeDoc(tok, doc).ids.length - 1;
}

function tooLong(what: string, key: 'gsm8kTrain' | 'gsm8kTest', s: Suite, lengths: readonly number[], limit: number, need: string): void {
  const bad = lengths.map((n, i) => [i, n] as const).filter(([, n]) => n > limit);
  if (!bad.length) return;
  const [i, n] = bad[0] as readonly [number, number];
  throw new DataError(
    `data.${key}: ${fileOf(s, key)}: ${what} in row ${i + 1} needs ${n} tokens (${need}), more than model.blockSize ${s.model.blockSize}; ` +
      `${bad.length} of ${lengths.length} do not fit: raise model.blockSize or drop long problems`,
  );
}

export async function preflight(s: Suite, cacheDir: string): Promise<Preflight> {
  const data = await loadData(s.data, cacheDir);
  const tok = baseTokenizer(s, data, cacheDir);
  const T = s.model.blockSize;
  const cfg = s.eval.gsm8k;
  const evaluated = cfg.limit > 0 ? data.test.slice(0, cfg.limit) : data.test;
  tooLong('a test problem', 'gsm8kTest', s, evaluated.map((it) => rowLength(tok, formatQA(it.question, it.answer))), T, 'question and worked answer, for the answer NLL');
  // Greedy decoding needs the prompt (with its few-shot examples) plus room for at least one new token.
  const prompts = evaluated.map((it, i) => tok.encode(buildPrompt(it, chooseShots(data.train, cfg.numFewshot, cfg.fewshotSeed, i))).length + 1);
  tooLong(`a test prompt with ${cfg.numFewshot} few-shot examples`, 'gsm8kTest', s, prompts, T, 'prompt plus one generated token');
  if (s.arms.some((a) => armRegistry.get(a.arm).usesDesigner)) {
    tooLong('a feedback problem', 'gsm8kTrain', s, data.train.map((it) => rowLength(tok, formatQA(it.question, it.answer))), T, 'question and worked answer, for g_down');
  }
  const streams: [string, QADoc[], number][] = [['cptStream', data.cpt, s.train.batchSize], ['baseStream', data.base, s.base.batchSize]];
  for (const [key, docs, batch] of streams) {
    const rows = countRows(tok, docs, T);
    if (rows < batch) {
      throw new DataError(`data.${key}: the stream packs into ${rows} rows of ${T} tokens, fewer than one batch of ${batch}: give more documents or lower the batch size`);
    }
  }
  return { data, tokenizer: tok };
}

function countRows(tok: Tokenizer, docs: readonly QADoc[], T: number): number {
  let tokens = 0;
  for (const d of docs) tokens += encodeDoc(tok, d).ids.length;
  return Math.max(0, Math.floor((tokens - 1) / T));
}
