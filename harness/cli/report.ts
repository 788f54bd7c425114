/**
 * `vpt report <results…>`: regenerates tables (Markdown, CSV, LaTeX), plots and the HTML page from stored results;
 * with `--table`, one table across several suites in a paper's shape (Table 1, the vision table).
 */
import type { Command } from 'commander';
import { join, relative, resolve } from 'node:path';
import { readInputs } from '../report/inputs.js';
import { InputError } from '../report/read.js';
import { ACROSS_TABLES, type AcrossKind } from '../report/table-across.js';
import { lockFolder } from '../results/lock.js';
import { REPO_ROOT } from '../results/version.js';
import { guard } from './guard.js';

interface ReportOptions {
  out?: string;
  cache: string;
  tablesOnly: boolean;
  table?: string;
  metric?: string[];
  arms?: string[];
}

/** `--table`: one table across every input, printed as Markdown and, with --out, written as .md, .csv and .tex. */
async function writeAcross(inputs: string[], o: ReportOptions): Promise<void> {
  const kind = o.table as AcrossKind;
  if (!ACROSS_TABLES.includes(kind)) throw new InputError(`--table ${o.table}: expected one of ${ACROSS_TABLES.join(', ')}`);
  const sets = readInputs(inputs, { cacheDir: resolve(o.cache) }, true);
  for (const w of sets.flatMap((s) => s.warnings ?? [])) process.stderr.write(`vpt: warning: ${w}\n`);
  const { acrossTable } = await import('../report/table-across.js');
  const { renderTables } = await import('../report/render.js');
  const { writeFileAtomic } = await import('../results/atomic.js');
  const files = renderTables([acrossTable(sets, kind, { ...(o.metric ? { metrics: o.metric } : {}), ...(o.arms ? { arms: o.arms } : {}) })]);
  process.stdout.write(`\n${files.get(`${kind}.md`)}\n`);
  if (!o.out) {
    process.stdout.write(`(give --out <dir> to write ${kind}.md, .csv and .tex)\n`);
    return;
  }
  const dir = resolve(o.out);
  lockFolder(dir, { command: 'vpt report --table' });
  for (const [name, text] of files) writeFileAtomic(join(dir, name), text);
  process.stdout.write(`${kind}: .md .csv .tex in ${relative(process.cwd(), dir) || '.'}\n`);
}

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('regenerate the tables (md, csv, tex), plots and HTML page from results folders or baseline files')
    .argument('<results...>', 'results folders (the --out of vpt run; shards of one suite are joined) or baselines/<name>.json')
    .option('--out <dir>', 'output folder (default <results>/report; with several suites, <out>/<suite>)')
    .option('--cache <dir>', 'cache holding base checkpoints, for the base-checkpoint row', join(REPO_ROOT, '.cache'))
    .option('--tables-only', 'write the tables only (no plots, no page)', false)
    .option('--table <kind>', `one table across all the results given: ${ACROSS_TABLES.join(' (Table 1: models down, methods across, one metric), ')} (models × methods down, metrics across)`)
    .option('--metric <keys...>', 'with --table: the metric key(s) to show (default: the headline metric(s))')
    .option('--arms <ids...>', 'with --table: the arms (methods) to show, in order (default: every standard-stream arm)')
    .action(
      guard(async (inputs: string[], o: ReportOptions) => {
        if (o.table) return writeAcross(inputs, o);
        if (o.metric || o.arms) throw new InputError('--metric and --arms choose what a --table shows; give --table');
        const sets = readInputs(inputs, { cacheDir: resolve(o.cache) });
        // Loaded here: vega is needed only by this command.
        const { writeReport, writeTables } = await import('../report/write.js');
        for (const set of sets) {
          const fromFolder = set.sources.find((s) => !s.endsWith('.json'));
          const dir = o.out ? (sets.length > 1 ? join(resolve(o.out), set.suite) : resolve(o.out)) : fromFolder ? join(fromFolder, 'report') : undefined;
          if (!dir) throw new InputError(`${set.sources[0]}: give --out for a report from a baseline file`);
          for (const w of set.warnings ?? []) process.stderr.write(`vpt: warning: ${w}\n`);
          // One writer per output (held to exit): --out, or the results folder whose report/ vpt run also writes.
          lockFolder(o.out || !fromFolder ? dir : fromFolder, { command: 'vpt report' });
          if (o.tablesOnly) {
            const files = writeTables(set, dir);
            process.stdout.write(`${set.suite}: ${files.length} table files in ${relative(process.cwd(), dir) || '.'}\n`);
            continue;
          }
          const r = await writeReport(set, dir);
          process.stdout.write(`\n${r.markdown}\nreport: ${r.html}\n  tables: ${r.tables.map((t) => t.name).join(', ')} as .md .csv .tex in ${dir}\n`);
          if (r.skippedPlots.length) process.stdout.write(`  not drawn: ${r.skippedPlots.join('; ')}\n`);
        }
      }),
    );
}
