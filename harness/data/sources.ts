/**
 * Resolves a suite's data section into loaded items: the embedded generator's files (written once into the
 * cache) or the user's files in the published formats. Every file is hashed for the result record.
 */
import { readFileSync } from 'node:fs';
import { fileHash } from '../suite/hash.js';
import type { DataConfig } from '../suite/schema.js';
import { loadGsm8k, readJsonl, type Gsm8kItem } from './gsm8k.js';
import { formatQA, loadNumina, type NuminaRow } from './numina.js';
import type { QADoc } from './pack.js';
import { ensureEmbedded } from './synth/embedded.js';

export interface LoadedData {
  train: Gsm8kItem[];
  test: Gsm8kItem[];
  base: QADoc[];
  cpt: QADoc[];
  /** Raw stream rows (for decontamination, which reads problem text). */
  cptRows: NuminaRow[];
  /** MATH test problems (decontamination references), when given. */
  mathTest: string[];
  /** sha256 of every input file, keyed by role. */
  hashes: Record<string, string>;
}

export function rowToDoc(r: NuminaRow): QADoc {
  const f = formatQA(r.problem, r.solution);
  // The answer text starts with the one-space delimiter, so spans in `solution` shift by one.
  return { ...f, wrongSpans: (r.vpt_corrupt_spans ?? []).map(([s, e]) => [s + 1, e + 1] as [number, number]) };
}

export function loadMathProblems(path: string): string[] {
  return readJsonl(path, (obj, where) => {
    const p = (obj as { problem?: unknown }).problem;
    if (typeof p !== 'string') throw new Error(`${where}: field 'problem' must be a string`);
    return p;
  });
}

export async function loadData(cfg: DataConfig, cacheDir: string): Promise<LoadedData> {
  let paths: { gsm8kTrain: string; gsm8kTest: string; cptStream: string; baseStream: string; mathTest?: string };
  let limit = 0;
  if (cfg.kind === 'embedded') {
    const { kind: _kind, ...gen } = cfg;
    paths = ensureEmbedded(gen, cacheDir);
  } else {
    paths = { ...cfg, baseStream: cfg.baseStream ?? cfg.cptStream };
    limit = cfg.streamLimit;
  }
  const hashes: Record<string, string> = {};
  const hash = (role: string, p: string): void => {
    hashes[role] = fileHash(readFileSync(p));
  };
  hash('gsm8kTrain', paths.gsm8kTrain);
  hash('gsm8kTest', paths.gsm8kTest);
  hash('cptStream', paths.cptStream);
  hash('baseStream', paths.baseStream);
  if (paths.mathTest) hash('mathTest', paths.mathTest);
  const cut = <T>(xs: T[]): T[] => (limit > 0 ? xs.slice(0, limit) : xs);
  const cptRows = cut(await loadNumina(paths.cptStream));
  const baseRows = paths.baseStream === paths.cptStream ? cptRows : cut(await loadNumina(paths.baseStream));
  return {
    train: loadGsm8k(paths.gsm8kTrain),
    test: loadGsm8k(paths.gsm8kTest),
    base: baseRows.map(rowToDoc),
    cpt: cptRows.map(rowToDoc),
    cptRows,
    mathTest: paths.mathTest ? loadMathProblems(paths.mathTest) : [],
    hashes,
  };
}
