/**
 * Writes a suite's report: its tables (main, more metrics, ablation, cost, diagnostics) in three formats, the
 * plot specs (and their SVGs) and one self-contained HTML page. Everything is rendered in memory first and
 * then written file by file atomically, so a failure leaves the previous report whole.
 */
import { existsSync, readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { writeFileAtomic } from '../results/atomic.js';
import { pageHtml } from './html.js';
import type { TableModel } from './model.js';
import { planPlots } from './plots.js';
import type { ResultSet } from './read.js';
import { renderSvg } from './svg.js';
import { allTables } from './tables.js';
import { renderTables } from './render.js';

export interface ReportFiles {
  dir: string;
  html: string;
  /** The main table as Markdown (what `vpt run` prints). */
  markdown: string;
  tables: TableModel[];
  files: string[];
  skippedPlots: string[];
}

function writeAll(dir: string, files: Map<string, string>): string[] {
  const written: string[] = [];
  for (const [name, text] of files) {
    const f = join(dir, name);
    writeFileAtomic(f, text);
    written.push(f);
  }
  return written;
}

/** Writes the tables only (the published reports/ from baselines). */
export function writeTables(set: ResultSet, dir: string): string[] {
  return writeAll(dir, renderTables(allTables(set)));
}

/** Writes the full report of one suite into `dir` (default <results>/report). */
export async function writeReport(set: ResultSet, dir: string): Promise<ReportFiles> {
  const tables = allTables(set);
  const files = renderTables(tables);
  const plan = planPlots(set);
  const plots: { plot: (typeof plan.plots)[number]; svg: string }[] = [];
  for (const plot of plan.plots) {
    const svg = await renderSvg(plot.spec);
    plots.push({ plot, svg });
    files.set(join('plots', `${plot.name}.vl.json`), JSON.stringify(plot.spec, null, 2) + '\n');
    files.set(join('plots', `${plot.name}.svg`), svg + '\n');
  }
  files.set('index.html', pageHtml({ suite: set.suite, sources: set.sources, tables, plots, skipped: plan.skipped }));
  const written = writeAll(dir, files);
  // Plots no longer drawn (their data is gone) must not linger beside the page.
  const plotDir = join(dir, 'plots');
  if (existsSync(plotDir)) {
    for (const f of readdirSync(plotDir)) if (!files.has(join('plots', f))) rmSync(join(plotDir, f), { force: true });
  }
  return { dir, html: join(dir, 'index.html'), markdown: files.get('main.md') as string, tables, files: written, skippedPlots: plan.skipped };
}
