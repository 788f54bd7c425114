/** The `vpt` command line. */
import { Command, InvalidArgumentError } from 'commander';
import { join, resolve } from 'node:path';
import { taskByName, taskNames, taskOf } from '../tasks/index.js';
import { BACKENDS, type BackendName } from '../engine/backend.js';
import { REPO_ROOT } from '../results/version.js';
import { UserError } from '../errors.js';
import { suiteHash } from '../suite/define.js';
import { expandCells } from '../suite/expand.js';
import { listSuiteFiles, loadSuite } from '../suite/load.js';
import { registerBaseline } from './baseline.js';
import { registerCompare } from './compare.js';
import { registerPublish } from './publish.js';
import { registerReport } from './report.js';

const int = (name: string, min = 0) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < min) throw new InvalidArgumentError(`${name} must be a whole number${min ? ` of at least ${min}` : ''} (got '${v}')`);
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

interface RunFlags {
  workers: number;
  resume: boolean;
  moveAside: boolean;
  out?: string;
  cache: string;
  set: string[];
  backend?: string;
  cellTimeout: number;
  shard?: string;
  balance: string;
  costs?: string;
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
  .description('run every cell of a suite and print the table')
  .argument('<suite>', 'suite name (suites/<name>.suite.ts) or path')
  .option('-w, --workers <n>', 'cells in parallel (one process each)', int('--workers', 1), 1)
  .option('--resume', 'keep finished cells whose inputs (config, data, arm, eval, code) are unchanged; redo the rest', false)
  .option('--move-aside', 'move a results folder of another configuration or code version aside instead of refusing', false)
  .option('--out <dir>', 'results folder (default runs/<suite>)')
  .option('--cache <dir>', 'cache for generated data and base checkpoints', join(REPO_ROOT, '.cache'))
  .option('--set <key=value>', 'override a suite key (repeatable), e.g. --set train.steps=20', collect, [])
  .option('--backend <name>', `tfjs backend: auto, ${BACKENDS.join(', ')}`)
  .option('--cell-timeout <s>', 'per-cell wall-clock limit in seconds (0 = none)', int('--cell-timeout'), 0)
  .option('--shard <i/n>', 'run only shard i of n (cells dealt round-robin over the sorted cell list)')
  .option('--balance <how>', "with --shard: 'round-robin' or 'cost' (longest first, from --costs)", 'round-robin')
  .option('--costs <path>', 'with --balance cost: a results folder or baseline file with per-cell times')
  .action(async (ref: string, o: RunFlags) => {
    const shard = o.shard ? await shardPlan(o) : undefined;
    const sets = o.backend ? [...o.set, `backend=${o.backend}`] : o.set;
    const { suite } = await loadSuite(ref, sets);
    const { runSuite } = await import('../runner/run.js');
    const outDir = resolve(o.out ?? join('runs', shard ? `${suite.name}-shard-${shard.index}-of-${shard.count}` : suite.name));
    const res = await runSuite(suite, {
      outDir, cacheDir: resolve(o.cache), workers: o.workers, resume: o.resume, moveAside: o.moveAside, cellTimeoutS: o.cellTimeout,
      ...(shard ? { shard } : {}),
    });
    process.stdout.write('\n' + res.markdown + `\nwritten: ${res.mdPath}, ${res.csvPath}\nreport: ${res.htmlPath}\n`);
    if (res.results.some((r) => r.status !== 'completed')) process.exitCode = 1;
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
    const m = mergeResults(dirs.map((d) => resolve(d)), outDir, { allowMissing: o.allowMissing });
    const res = await summarise(m.manifest.suite, outDir, resolve(o.cache));
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
    for (const f of listSuiteFiles()) {
      const { suite } = await loadSuite(f);
      process.stdout.write(`  ${suite.name.padEnd(16)} ${suite.task.padEnd(9)} ${String(expandCells(suite).length).padStart(3)} cells  ${suite.description}\n`);
    }
    for (const name of taskNames()) {
      const task = taskByName(name);
      process.stdout.write(`${name} arms:\n`);
      for (const n of task.arms.names()) process.stdout.write(`  ${n.padEnd(16)} ${task.arms.get(n).description}\n`);
    }
  });

program
  .command('bench')
  .description('benchmarks (tinybench): learner step per arm, meta step, decontamination of 10,000 items')
  .option('--suite <suite>', 'model, batch and design settings to measure', 'lm-ablation')
  .option('--backend <name>', `tfjs backend: auto, ${BACKENDS.join(', ')}`)
  .option('--quick', 'fewer iterations', false)
  .option('--gsm8k <files...>', 'GSM8K JSONL files whose questions are decontamination references')
  .option('--math <files...>', 'MATH JSONL files whose problems are decontamination references')
  .option('--json <file>', 'also write the results as JSON')
  .action(async (o: { suite: string; backend?: string; quick: boolean; gsm8k?: string[]; math?: string[]; json?: string }) => {
    const { runBenchmarks } = await import('../bench/lm-step.bench.js');
    const { loadGsm8k } = await import('../data/gsm8k.js');
    const { loadMathProblems } = await import('../data/sources.js');
    const { suite } = await loadSuite(o.suite);
    const refs = [...(o.gsm8k ?? []).flatMap((f) => loadGsm8k(f).map((x) => x.question)), ...(o.math ?? []).flatMap(loadMathProblems)];
    const backend = o.backend && o.backend !== 'auto' ? (o.backend as BackendName) : undefined;
    const res = await runBenchmarks({ suite, quick: o.quick, ...(backend ? { backend } : {}), ...(refs.length ? { references: refs } : {}) });
    process.stdout.write(`engine: ${JSON.stringify(res.engine)}\n`);
    for (const r of res.rows) process.stdout.write(`${r.meanMs.toFixed(1).padStart(10)} ms  (p50 ${r.p50Ms.toFixed(1)} ms, n=${r.samples})  ${r.name}\n`);
    if (o.json) (await import('../results/atomic.js')).writeJsonAtomic(resolve(o.json), res);
  });

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
  else process.stderr.write(`vpt: ${err.message.split('\n')[0]} (internal error; --verbose prints the stack)\n`);
  process.exit(2);
});
