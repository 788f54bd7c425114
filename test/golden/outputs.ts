/**
 * The outputs the golden files pin: every table in three formats for the language fixture (main, ablation,
 * cost, diagnostics) and the vision fixture (main, more metrics, ablation, cost). Rendered through the whole
 * path (cell.json files on disk, read back, tables, renderers). Used by test/report-golden.test.ts to compare and by update.ts to rewrite.
 */
import { join } from 'node:path';
import { readResultsDir } from '../../harness/report/read.js';
import { renderTables } from '../../harness/report/render.js';
import { allTables } from '../../harness/report/tables.js';
import { tmp } from '../helpers.js';
import { writeLmResults, writeVisionResults } from '../report-fixtures.js';

export const GOLDEN_DIR = join(import.meta.dirname, 'report');

export function goldenOutputs(): Map<string, string> {
  const out = new Map<string, string>();
  const lm = tmp('vpt-golden-lm-');
  writeLmResults(lm);
  for (const [name, text] of renderTables(allTables(readResultsDir(lm)))) out.set(join('fixture-lm', name), text);
  const vision = tmp('vpt-golden-vision-');
  writeVisionResults(vision);
  for (const [name, text] of renderTables(allTables(readResultsDir(vision)))) out.set(join('fixture-vision', name), text);
  return out;
}
