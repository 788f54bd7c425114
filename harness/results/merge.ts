/**
 * `vpt merge`: joins the results folders of a suite's shards into one folder. It refuses shards of different
 * configurations or code (harness version, git sha, code fingerprint), duplicate cells that disagree, corrupt
 * records, and (unless allowed) missing cells, naming each; it never writes into a folder that holds results.
 */
import { cpSync, existsSync, readdirSync, readFileSync, realpathSync } from 'node:fs';
import { join } from 'node:path';
import { UserError } from '../errors.js';
import { canonicalJson } from '../suite/hash.js';
import { expandCells, type CellSpec } from '../suite/expand.js';
import { writeJsonAtomic } from './atomic.js';
import { cellDir, type RunManifest } from './folder.js';
import { isLock } from './lock.js';
import type { CellResult } from './schema.js';

export interface MergeOptions {
  /** Write the merged folder even when some cells of the suite are in no shard. Default false. */
  allowMissing?: boolean;
}

export interface MergeReport {
  manifest: RunManifest;
  /** Cell id → the folder its record came from. */
  sources: Record<string, string>;
  missing: string[];
}

function manifestOf(dir: string): RunManifest {
  const f = join(dir, 'suite.json');
  if (!existsSync(dir)) throw new UserError(`${dir}: no such results folder`);
  if (!existsSync(f)) throw new UserError(`${dir}: not a vpt results folder (no suite.json)`);
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as RunManifest;
  } catch (e) {
    throw new UserError(`${f}: corrupt run manifest (${(e as Error).message})`);
  }
}

function cellOf(dir: string, c: CellSpec): CellResult | undefined {
  const f = join(cellDir(dir, c), 'cell.json');
  if (!existsSync(f)) return undefined;
  let r: CellResult;
  try {
    r = JSON.parse(readFileSync(f, 'utf8')) as CellResult;
  } catch (e) {
    throw new UserError(`${f}: corrupt or truncated cell record (${(e as Error).message}): rerun that cell in its shard (vpt run --resume)`);
  }
  if (typeof r !== 'object' || r === null || typeof r.status !== 'string') {
    throw new UserError(`${f}: not a cell record (no status): rerun that cell in its shard (vpt run --resume)`);
  }
  return r;
}

/** What two records of one cell must agree on: the outcome, not when or how fast it was produced. */
function outcome(r: CellResult): string {
  return canonicalJson({ status: r.status, metrics: r.metrics, diagnostics: r.diagnostics, steps: r.steps, error: r.error ?? null });
}

const VERSION_KEYS = ['configHash', 'harnessVersion', 'gitSha', 'codeHash'] as const;
/** Shards must also share the calibration their wall-clock budgets were planned from. */
const MANIFEST_KEYS = [...VERSION_KEYS, 'calibration'] as const;

/** A shard folder named twice (also through another path to it) would count its cells twice: name it once. */
function refuseRepeats(dirs: readonly string[]): void {
  const seen = new Map<string, string>();
  for (const d of dirs) {
    const id = existsSync(d) ? realpathSync(d) : d;
    const first = seen.get(id);
    if (first !== undefined) {
      const what = first === d ? `${d} is given twice` : `${first} and ${d} are the same folder`;
      throw new UserError(`${what}: name each shard's results folder once (its cells would count twice)`);
    }
    seen.set(id, d);
  }
}

export function mergeResults(dirs: readonly string[], outDir: string, opts: MergeOptions = {}): MergeReport {
  if (!dirs.length) throw new UserError('vpt merge: name at least one results folder');
  refuseRepeats(dirs);
  // The lock of this merge (../cli) may be there already; anything else is someone's results.
  if (existsSync(outDir) && readdirSync(outDir).some((n) => !isLock(n))) throw new UserError(`${outDir}: the output folder is not empty; merge into a new folder`);
  const manifests = dirs.map(manifestOf);
  const first = manifests[0] as RunManifest;
  manifests.forEach((m, i) => {
    for (const k of MANIFEST_KEYS) {
      if (m[k] !== first[k]) throw new UserError(`${dirs[i]}: ${k} ${m[k]} differs from ${dirs[0]}'s ${first[k]}: shards of one run must share config, code and calibration`);
    }
  });
  const cells = expandCells(first.suite);
  const sources: Record<string, string> = {};
  const records = new Map<string, CellResult>();
  for (const dir of dirs) {
    for (const c of cells) {
      const r = cellOf(dir, c);
      if (!r) continue;
      for (const k of VERSION_KEYS) {
        if (r[k] !== undefined && r[k] !== first[k]) throw new UserError(`${join(cellDir(dir, c), 'cell.json')}: ${k} ${r[k]} differs from the run's ${first[k]}`);
      }
      const prev = records.get(c.id);
      if (prev && outcome(prev) !== outcome(r)) {
        throw new UserError(`cell ${c.id} is in ${sources[c.id]} and ${dir} with different results: refusing to pick one`);
      }
      if (!prev) {
        records.set(c.id, r);
        sources[c.id] = dir;
      }
    }
  }
  const missing = cells.filter((c) => !records.has(c.id)).map((c) => c.id);
  if (missing.length && !opts.allowMissing) {
    throw new UserError(`${missing.length} cell(s) of suite '${first.suite.name}' are in no shard: ${missing.join(', ')} (add --allow-missing to merge the rest)`);
  }
  const { shard: _shard, ...manifest } = first;
  for (const c of cells) {
    const src = sources[c.id];
    if (src) cpSync(cellDir(src, c), cellDir(outDir, c), { recursive: true });
  }
  for (const name of ['reference.json', 'calibration.json']) {
    const f = dirs.map((d) => join(d, name)).find((x) => existsSync(x));
    if (f) cpSync(f, join(outDir, name));
  }
  writeJsonAtomic(join(outDir, 'merge.json'), { from: dirs, sources, missing });
  writeJsonAtomic(join(outDir, 'suite.json'), manifest);
  return { manifest, sources, missing };
}
