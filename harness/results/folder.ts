/**
 * The layout of a results folder: `suite.json` (the run manifest), `cells/<arm-id>/seed-N/cell.json` (+ the
 * cell's other outputs), `reference.json` (reference rows), `summary.md`/`summary.csv`.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { CellSpec } from '../suite/expand.js';
import type { Suite } from '../tasks/index.js';
import type { CellResult } from './schema.js';

/** What a results folder records about the run that owns it (`suite.json`). */
export interface RunManifest {
  configHash: string;
  codeHash: string;
  gitSha: string;
  harnessVersion: string;
  suite: Suite;
  /** Present when the folder holds one shard of the suite. */
  shard?: { index: number; count: number; balance: string; cells: string[] };
  /** Hash of the calibration that planned wall-clock budgets (calibration.json beside it). */
  calibration?: string;
}

export function cellDir(outDir: string, cell: Pick<CellSpec, 'armId' | 'seed'>): string {
  return join(outDir, 'cells', cell.armId, `seed-${cell.seed}`);
}

/** A cell's record, or undefined when absent; a corrupt record is reported through `onCorrupt`. */
export function readCell(dir: string, onCorrupt?: (file: string, why: string) => void): CellResult | undefined {
  const f = join(dir, 'cell.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as CellResult;
  } catch (e) {
    onCorrupt?.(f, (e as Error).message);
    return undefined;
  }
}

/** The manifest of a results folder, or undefined when it has none or it cannot be parsed. */
export function readManifest(outDir: string): RunManifest | undefined {
  const f = join(outDir, 'suite.json');
  if (!existsSync(f)) return undefined;
  try {
    return JSON.parse(readFileSync(f, 'utf8')) as RunManifest;
  } catch {
    return undefined;
  }
}
