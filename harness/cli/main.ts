/** The `vpt` command line. */
import { Command } from 'commander';
import { join, resolve } from 'node:path';
import { taskByName, taskNames, taskOf } from '../tasks/index.js';
import { BACKENDS } from '../engine/backend.js';
import { REPO_ROOT } from '../results/version.js';
import { UserError } from '../errors.js';
import { lockFolder } from '../results/lock.js';
import { causeOf, isFileSystemError } from '../results/writable.js';
import { suiteHash } from '../suite/define.js';
import { expandCells } from '../suite/expand.js';
import { listSuiteFiles, loadSuite } from '../suite/load.js';
import { registerBaseline } from './baseline.js';
import { registerBench } from './bench.js';
import { registerCompare } from './compare.js';
import { registerPublish } from './publish.js';
import { registerReport } from './report.js';
import { registerTool } from './tool.js';
import { collect, int, TRAINER_HELP, withEngineFlags } from './options.js';

interface RunFlags {
  workers: number;
  resume: boolean;
  moveAside: boolean;
  out?: string;
  cache: string;
  set: string[];
  backend?: string;
  trainer?: string;
  cellTimeout: number;
  shard?: string;
  balance: string;
  costs?: string;
  calibration?: string;
  forceCalibration: boolean;
}

async function shardPlan(o: RunFlags): Promise<import('../runner/run.js').ShardPlan> {
  const { parseShard, recordedCosts } = await import('../runner/shard.js');
  const spec = parseShard(o.shard as string);
  if (o.balance !== 'round-robin' && o.balance !== 'cost') throw new UserError(`--balance '${o.balance}': expected round-robin or cost`);
  if (o.balance === 'cost' && !o.costs) throw new UserError('--balance cost needs --costs <results folder or baseline file>');
  return { ...spec, balance: o.balance, ...(o.costs ? { costs: recordedCosts(resolve(o.costs)) } : {}) };
}

const program = new Command('vpt')
  .description('V-pretraining harness: declared suites of arms over seeds, real tfjs training, comparison tables')
  .option('--verbose', 'print stack traces with errors', false)
  .showHelpAfterError('(add --help for usage)')
  // Bad arguments exit 2 like every other input error; --help exits 0.
  .exitOverride((err) => process.exit(err.exitCode === 0 ? 0 : 2));

program
  .command('run')
  .description('run every cell of one or more suites (one after another) and print their tables')
  .argument('<suites...>', 'suite names (suites/<name>.suite.ts) or paths')
  .option('-w, --workers <n>', 'cells in parallel (one process each)', int('--workers', 1), 1)
  .option('--resume', 'keep finished cells whose inputs (config, data, arm, eval, code) are unchanged; redo the rest', false)
  .option('--move-aside', 'move a results folder of another configuration or code version aside instead of refusing', false)
  .option('--out <dir>', 'results folder (default runs/<suite>; one suite only)')
  .option('--cache <dir>', 'cache for generated data and base checkpoints', join(REPO_ROOT, '.cache'))
  .option('--set <key=value>', 'override a suite key (repeatable; applies to every suite named), e.g. --set train.steps=20', collect, [])
  .option('--backend <name>', `tfjs backend: auto, ${BACKENDS.join(', ')}`)
  .option('--trainer <name>', TRAINER_HELP)
  .option('--cell-timeout <s>', 'per-cell wall-clock limit in seconds (0 = none)', int('--cell-timeout'), 0)
  .option('--shard <i/n>', 'run only shard i of n (cells dealt round-robin over the sorted cell list; one suite only)')
  .option('--balance <how>', "with --shard: 'round-robin' or 'cost' (longest first, from --costs)", 'round-robin')
  .option('--costs <path>', 'with --balance cost: a results folder or baseline file with per-cell times')
  .option('--calibration <file>', 'plan wall-clock budgets from this stored calibration (vpt calibrate) instead of measuring (one suite only)')
  .option('--force-calibration', 'use a calibration from another device, backend or harness version', false)
  .action(async (refs: string[], o: RunFlags) => {
    if (refs.length > 1) {
      for (const [flag, given] of [['--out', o.out], ['--shard', o.shard], ['--calibration', o.calibration]] as const) {
        if (given !== undefined) throw new UserError(`${flag} applies to one suite; ${refs.length} were named (${refs.join(', ')})`);
      }
    }
    const shard = o.shard ? await shardPlan(o) : undefined;
    const sets = withEngineFlags(o);
    // Load (and so validate) every suite before any runs: a typo in the second costs seconds, not a first run.
    const suites = [];
    for (const ref of refs) suites.push((await loadSuite(ref, sets)).suite);
    const { runSuite } = await import('../runner/run.js');
    const done: { markdown: string; written: string }[] = [];
    let failed = false;
    for (const suite of suites) {
      const outDir = resolve(o.out ?? join('runs', shard ? `${suite.name}-shard-${shard.index}-of-${shard.count}` : suite.name));
      const res = await runSuite(suite, {
        outDir, cacheDir: resolve(o.cache), workers: o.workers, resume: o.resume, moveAside: o.moveAside, cellTimeoutS: o.cellTimeout,
        forceCalibration: o.forceCalibration, ...(o.calibration ? { calibration: o.calibration } : {}), ...(shard ? { shard } : {}),
      });
      done.push({ markdown: res.markdown, written: `written: ${res.mdPath}, ${res.csvPath}\nreport: ${res.htmlPath}\n` });
      if (res.results.some((r) => r.status !== 'completed')) failed = true;
    }
    // Every table at the end, in the order the suites were named.
    for (const d of done) process.stdout.write('\n' + d.markdown + `\n${d.written}`);
    if (failed) process.exitCode = 1;
  });

program
  .command('calibrate')
  .description("measure each arm's cost per learner step at the suite's cadence (for wall-clock budgets) and store it")
  .argument('<suite>', 'suite name or path')
  .option('--out <file>', 'calibration file (default runs/<suite>.calibration.json)')
  .option('--arms <names...>', "arms to measure (default: those the suite's budgets name)")
  .option('--cache <dir>', 'cache for generated data and base checkpoints', join(REPO_ROOT, '.cache'))
  .option('--set <key=value>', 'override a suite key (repeatable)', collect, [])
  .option('--backend <name>', `tfjs backend: auto, ${BACKENDS.join(', ')}`)
  .option('--trainer <name>', TRAINER_HELP)
  .action(async (ref: string, o: { out?: string; arms?: string[]; cache: string; set: string[]; backend?: string; trainer?: string }) => {
    const { suite } = await loadSuite(ref, withEngineFlags(o));
    const { calibrateSuite } = await import('../runner/run.js');
    const { readCalibration } = await import('../runner/calibration.js');
    const file = await calibrateSuite(suite, { outFile: resolve(o.out ?? join('runs', `${suite.name}.calibration.json`)), cacheDir: resolve(o.cache), ...(o.arms ? { arms: o.arms } : {}) });
    const c = readCalibration(file);
    for (const [arm, cost] of Object.entries(c.arms)) {
      process.stdout.write(`${arm.padEnd(18)} ${cost.msPerStep.toFixed(1)} ms/step (range ${cost.min.toFixed(1)}–${cost.max.toFixed(1)}, ${cost.samples.length} cycles of ${cost.cycleSteps} steps)\n`);
    }
    process.stdout.write(`engine: ${c.engine.backend} on ${c.engine.device}\nwritten: ${file}\n`);
  });

program
  .command('merge')
  .description('join the results folders of a suite\'s shards into one folder and print the table')
  .argument('<dirs...>', 'results folders of the shards')
  .requiredOption('--out <dir>', 'new folder for the merged results')
  .option('--allow-missing', 'merge even when some cells are in no shard', false)
  .option('--cache <dir>', 'cache holding the base checkpoint (for its reference row)', join(REPO_ROOT, '.cache'))
  .action(async (dirs: string[], o: { out: string; allowMissing: boolean; cache: string }) => {
    const { mergeResults } = await import('../results/merge.js');
    const { summarise } = await import('../runner/run.js');
    const outDir = resolve(o.out);
    const lock = lockFolder(outDir, { command: 'vpt merge' });
    let m: import('../results/merge.js').MergeReport;
    let res: Awaited<ReturnType<typeof summarise>>;
    try {
      m = mergeResults(dirs.map((d) => resolve(d)), outDir, { allowMissing: o.allowMissing });
      res = await summarise(m.manifest.suite, outDir, resolve(o.cache));
    } finally {
      lock.release();
    }
    const n = Object.keys(m.sources).length;
    process.stdout.write(`merged ${n} cell(s) from ${dirs.length} folder(s)${m.missing.length ? `; missing: ${m.missing.join(', ')}` : ''}\n\n${res.markdown}\nwritten: ${outDir}\n`);
  });

program
  .command('validate')
  .description('check a suite declaration and every data source it names, and list its cells')
  .argument('<suite>', 'suite name or path')
  .option('--set <key=value>', 'override a suite key (repeatable)', collect, [])
  .option('--cache <dir>', 'cache for generated data and base checkpoints', join(REPO_ROOT, '.cache'))
  .action(async (ref: string, o: { set: string[]; cache: string }) => {
    const { suite, path } = await loadSuite(ref, o.set);
    const { summary } = await taskOf(suite).preflight(suite, resolve(o.cache));
    const cells = expandCells(suite);
    process.stdout.write(`${path}: valid (${suite.task} task, config ${suiteHash(suite)}), data checked (${summary}), ${cells.length} cells\n`);
    for (const c of cells) process.stdout.write(`  ${c.id}\n`);
  });

program
  .command('ls')
  .description('list suites and registered arms')
  .action(async () => {
    process.stdout.write('suites:\n');
    const suites = await Promise.all(listSuiteFiles().map(async (f) => (await loadSuite(f)).suite));
    const width = Math.max(16, ...suites.map((s) => s.name.length));
    for (const suite of suites) {
      process.stdout.write(`  ${suite.name.padEnd(width)} ${suite.task.padEnd(9)} ${String(expandCells(suite).length).padStart(3)} cells  ${suite.description}\n`);
    }
    for (const name of taskNames()) {
      const task = taskByName(name);
      process.stdout.write(`${name} arms:\n`);
      const armWidth = Math.max(16, ...task.arms.names().map((n) => n.length));
      for (const n of task.arms.names()) {
        const arm = task.arms.get(n);
        const reads = arm.reads ? ` (reads the same-seed cell of row '${arm.reads}' by default)` : '';
        process.stdout.write(`  ${n.padEnd(armWidth)} ${arm.description}${reads}\n`);
      }
    }
  });

registerBench(program);
registerTool(program);
registerReport(program);
registerBaseline(program);
registerCompare(program);
registerPublish(program);

// `vpt … | head` closes the pipe early; that is not an error.
process.stdout.on('error', (e: NodeJS.ErrnoException) => {
  if (e.code === 'EPIPE') process.exit(0);
  throw e;
});

program.parseAsync(process.argv).catch((e: unknown) => {
  // A user error is one line naming the file, line or key; anything else is a bug and keeps its stack behind --verbose.
  const verbose = program.opts<{ verbose: boolean }>().verbose;
  const err = e instanceof Error ? e : new Error(String(e));
  if (verbose) process.stderr.write(`vpt: ${err.stack ?? err.message}\n`);
  else if (err instanceof UserError) process.stderr.write(`vpt: ${err.message}\n`);
  // The machine's file system refused (no permission, read-only, full): the path and the cause, not a bug.
  else if (isFileSystemError(err)) process.stderr.write(`vpt: cannot ${err.syscall ?? 'write'} ${err.path}: ${causeOf(err)}\n`);
  else process.stderr.write(`vpt: ${err.message.split('\n')[0]} (internal error; --verbose prints the stack)\n`);
  process.exit(2);
});
