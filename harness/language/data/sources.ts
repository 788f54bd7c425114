/**
 * Resolves a suite's data section into loaded items: the embedded generator's files (written once into the
 * cache) or the user's files in the published formats. Every file is hashed for the result record.
 */
import { readFileSync } from 'node:fs';
import { fileHash } from '../../suite/hash.js';
import type { DataConfig } from '../schema.js';
import { DataError } from '../../errors.js';
import { loadGsm8k, readFailure, readJsonl, type Gsm8kItem } from './gsm8k.js';
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
    if (typeof p !== 'string') throw new DataError(`${where}: field 'problem' must be a string`);
    return p;
  });
}

/** Reads a file for the data section's key `key`; a failure names the key and the path. */
function readInput(key: string, path: string): Buffer {
  try {
    return readFileSync(path);
  } catch (e) {
    throw new DataError(`data.${key}: ${path}: ${readFailure(e)}`);
  }
}

/** Runs a loader, prefixing its error with the suite key the file came from. */
async function underKey<T>(key: string, load: () => T | Promise<T>): Promise<T> {
  try {
    return await load();
  } catch (e) {
    if (e instanceof DataError) throw new DataError(`data.${key}: ${e.message}`);
    throw e;
  }
}

/**
 * Loads every data source of a suite and hashes each file. Errors name the suite key and the file (and the
 * line or row where the loader found the problem); a split with no rows is an error too.
 */
export async function loadData(cfg: DataConfig, cacheDir: string): Promise<LoadedData> {
  let paths: { gsm8kTrain: string; gsm8kTest: string; cptStream: string; baseStream: string; mathTest?: string | undefined };
  let limit = 0;
  if (cfg.kind === 'embedded') {
    const { kind: _kind, ...gen } = cfg;
    paths = ensureEmbedded(gen, cacheDir);
  } else {
    paths = { ...cfg, baseStream: cfg.baseStream ?? cfg.cptStream };
    limit = cfg.streamLimit;
  }
  const hashes: Record<string, string> = {};
  const roles = ['gsm8kTrain', 'gsm8kTest', 'cptStream', 'baseStream', 'mathTest'] as const;
  for (const role of roles) {
    const p = paths[role];
    if (p !== undefined) hashes[role] = fileHash(readInput(role, p));
  }
  const cut = <T>(xs: T[]): T[] => (limit > 0 ? xs.slice(0, limit) : xs);
  const cptRows = cut(await underKey('cptStream', () => loadNumina(paths.cptStream)));
  const baseRows = paths.baseStream === paths.cptStream ? cptRows : cut(await underKey('baseStream', () => loadNumina(paths.baseStream)));
  const loaded: LoadedData = {
    train: await underKey('gsm8kTrain', () => loadGsm8k(paths.gsm8kTrain)),
    test: await underKey('gsm8kTest', () => loadGsm8k(paths.gsm8kTest)),
    base: baseRows.map(rowToDoc),
    cpt: cptRows.map(rowToDoc),
    cptRows,
    mathTest: paths.mathTest ? await underKey('mathTest', () => loadMathProblems(paths.mathTest as string)) : [],
    hashes,
  };
  const sizes: [string, number][] = [['gsm8kTrain', loaded.train.length], ['gsm8kTest', loaded.test.length], ['cptStream', cptRows.length], ['baseStream', baseRows.length]];
  for (const [key, n] of sizes) {
    if (n === 0) throw new DataError(`data.${key}: ${paths[key as keyof typeof paths]}: no rows (the split is empty)`);
  }
  return loaded;
}
