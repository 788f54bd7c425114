/** `vpt baseline record <results…> --as <name>`: records a run's cells as baselines/<name>.json for `vpt compare`. */
import type { Command } from 'commander';
import { join, resolve } from 'node:path';
import { baselineFromResults, writeBaseline } from '../regress/baseline.js';
import { readResultsDir, joinResultSets, InputError } from '../report/read.js';
import { lockFile } from '../results/lock.js';
import { REPO_ROOT } from '../results/version.js';
import { guard } from './guard.js';

export function registerBaseline(program: Command): void {
  const baseline = program.command('baseline').description('record results as a baseline that vpt compare checks against');
  baseline
    .command('record')
    .description('write baselines/<name>.json from a results folder (shards of one suite are joined)')
    .argument('<results...>', 'results folders of one suite')
    .requiredOption('--as <name>', 'baseline name (file stem under --dir)')
    .option('--dir <dir>', 'baselines folder', join(REPO_ROOT, 'baselines'))
    .option('--cache <dir>', 'cache holding base checkpoints (their metrics are recorded too)', join(REPO_ROOT, '.cache'))
    .option('--force', 'replace an existing baseline of that name', false)
    .action(
      guard((inputs: string[], o: { as: string; dir: string; cache: string; force: boolean }) => {
        const sets = inputs.map((i) => readResultsDir(i, { cacheDir: resolve(o.cache) }));
        const set = joinResultSets(sets);
        for (const w of set.warnings ?? []) process.stderr.write(`vpt: warning: ${w}\n`);
        const b = baselineFromResults(set, o.as);
        const failed = b.cells.filter((c) => c.status !== 'completed').length;
        if (failed === b.cells.length) throw new InputError(`${inputs.join(', ')}: no completed cell to record`);
        const file = join(resolve(o.dir), `${o.as}.json`);
        // One writer per baseline: two records of one name would otherwise both pass the exists check.
        const lock = lockFile(file, { command: `vpt baseline record --as ${o.as}` });
        try {
          writeBaseline(file, b, o.force);
        } finally {
          lock.release();
        }
        process.stdout.write(
          `recorded ${file}: suite ${b.suite}, ${b.cells.length} cells (${failed} not completed), harness ${b.harnessVersion}, git ${b.gitSha}, config ${b.configHash}\n`,
        );
      }),
    );
}
