/** `vpt report <results…>`: regenerates tables (Markdown, CSV, LaTeX), plots and the HTML page from stored results. */
import type { Command } from 'commander';
import { join, relative, resolve } from 'node:path';
import { readInputs } from '../report/inputs.js';
import { InputError } from '../report/read.js';
import { REPO_ROOT } from '../results/version.js';
import { guard } from './guard.js';

export function registerReport(program: Command): void {
  program
    .command('report')
    .description('regenerate the tables (md, csv, tex), plots and HTML page from results folders or baseline files')
    .argument('<results...>', 'results folders (the --out of vpt run; shards of one suite are joined) or baselines/<name>.json')
    .option('--out <dir>', 'output folder (default <results>/report; with several suites, <out>/<suite>)')
    .option('--cache <dir>', 'cache holding base checkpoints, for the base-checkpoint row', join(REPO_ROOT, '.cache'))
    .option('--tables-only', 'write the tables only (no plots, no page)', false)
    .action(
      guard(async (inputs: string[], o: { out?: string; cache: string; tablesOnly: boolean }) => {
        const sets = readInputs(inputs, { cacheDir: resolve(o.cache) });
        // Loaded here: vega is needed only by this command.
        const { writeReport, writeTables } = await import('../report/write.js');
        for (const set of sets) {
          const fromFolder = set.sources.find((s) => !s.endsWith('.json'));
          const dir = o.out ? (sets.length > 1 ? join(resolve(o.out), set.suite) : resolve(o.out)) : fromFolder ? join(fromFolder, 'report') : undefined;
          if (!dir) throw new InputError(`${set.sources[0]}: give --out for a report from a baseline file`);
          for (const w of set.warnings ?? []) process.stderr.write(`vpt: warning: ${w}\n`);
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
