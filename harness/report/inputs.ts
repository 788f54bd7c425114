/**
 * Turns command-line inputs (results folders, baseline files) into result sets, one per suite: folders of
 * the same suite (shards, partial reruns) are joined; a baseline file stands for the run it recorded.
 */
import { existsSync, statSync } from 'node:fs';
import { resolve } from 'node:path';
import { baselineResultSet, readBaseline } from '../regress/baseline.js';
import { InputError, joinResultSets, readResultsDir, type ReadOptions, type ResultSet } from './read.js';

export function readInput(path: string, opts: ReadOptions = {}): ResultSet {
  if (existsSync(path) && statSync(path).isFile()) {
    if (!path.endsWith('.json')) throw new InputError(`${path}: expected a results folder or a baseline .json file`);
    return baselineResultSet(readBaseline(path), resolve(path));
  }
  return readResultsDir(path, opts);
}

/**
 * Reads every input and joins those of one suite, keeping the order suites first appear in. `byConfig`: join
 * only folders of one suite and config (a table across suites keeps two configs of one suite apart, as rows).
 */
export function readInputs(paths: readonly string[], opts: ReadOptions = {}, byConfig = false): ResultSet[] {
  const bySuite = new Map<string, ResultSet[]>();
  for (const p of paths) {
    const s = readInput(p, opts);
    const key = byConfig ? `${s.suite}\u0000${s.configHash}` : s.suite;
    bySuite.set(key, [...(bySuite.get(key) ?? []), s]);
  }
  return [...bySuite.values()].map(joinResultSets);
}
