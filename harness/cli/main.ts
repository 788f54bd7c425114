/** The `vpt` command line. */
import { Command, InvalidArgumentError } from 'commander';
import { join, resolve } from 'node:path';
import { armRegistry } from '../arms/index.js';
import { BACKENDS, type BackendName } from '../engine/backend.js';
import { REPO_ROOT } from '../results/version.js';
import { SuiteError, suiteHash } from '../suite/define.js';
import { expandCells } from '../suite/expand.js';
import { listSuiteFiles, loadSuite } from '../suite/load.js';
import { registerBaseline } from './baseline.js';
import { registerCompare } from './compare.js';
import { registerPublish } from './publish.js';
import { registerReport } from './report.js';

const int = (name: string) => (v: string): number => {
  const n = Number(v);
  if (!Number.isInteger(n) || n < 0) throw new InvalidArgumentError(`${name} must be a whole number`);
  return n;
};
const collect = (v: string, prev: string[]): string[] => [...prev, v];

const program = new Command('vpt')
  .description('V-pretraining harness: declared suites of arms over seeds, real tfjs training, comparison tables')
  .showHelpAfterError();

program
  .command('run')
  .description('run every cell of a suite and print the table')
  .argument('<suite>', 'suite name (suites/<name>.suite.ts) or path')
  .option('-w, --workers <n>', 'cells in parallel (one process each)', int('--workers'), 1)
  .option('--resume', 'keep cells that already completed with the same config', false)
  .option('--out <dir>', 'results folder (default runs/<suite>)')
  .option('--cache <dir>', 'cache for generated data and base checkpoints', join(REPO_ROOT, '.cache'))
  .option('--set <key=value>', 'override a suite key (repeatable), e.g. --set train.steps=20', collect, [])
  .option('--backend <name>', `tfjs backend: auto, ${BACKENDS.join(', ')}`)
  .option('--cell-timeout <s>', 'per-cell wall-clock limit in seconds (0 = none)', int('--cell-timeout'), 0)
  .action(async (ref: string, o: { workers: number; resume: boolean; out?: string; cache: string; set: string[]; backend?: string; cellTimeout: number }) => {
    const sets = o.backend ? [...o.set, `backend=${o.backend}`] : o.set;
    const { suite } = await loadSuite(ref, sets);
    const { runSuite } = await import('../runner/run.js');
    const outDir = resolve(o.out ?? join('runs', suite.name));
    const res = await runSuite(suite, { outDir, cacheDir: resolve(o.cache), workers: Math.max(1, o.workers), resume: o.resume, cellTimeoutS: o.cellTimeout });
    process.stdout.write('\n' + res.markdown + `\nwritten: ${res.mdPath}, ${res.csvPath}\nreport: ${res.htmlPath}\n`);
    if (res.results.some((r) => r.status !== 'completed')) process.exitCode = 1;
  });

program
  .command('validate')
  .description('check a suite declaration and list its cells')
  .argument('<suite>', 'suite name or path')
  .option('--set <key=value>', 'override a suite key (repeatable)', collect, [])
  .action(async (ref: string, o: { set: string[] }) => {
    const { suite, path } = await loadSuite(ref, o.set);
    const cells = expandCells(suite);
    process.stdout.write(`${path}: valid (config ${suiteHash(suite)}), ${cells.length} cells\n`);
    for (const c of cells) process.stdout.write(`  ${c.id}\n`);
  });

program
  .command('ls')
  .description('list suites and registered arms')
  .action(async () => {
    process.stdout.write('suites:\n');
    for (const f of listSuiteFiles()) {
      const { suite } = await loadSuite(f);
      process.stdout.write(`  ${suite.name.padEnd(16)} ${expandCells(suite).length} cells  ${suite.description}\n`);
    }
    process.stdout.write('arms:\n');
    for (const n of armRegistry.names()) process.stdout.write(`  ${n.padEnd(16)} ${armRegistry.get(n).description}\n`);
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

program.parseAsync(process.argv).catch((e: unknown) => {
  if (e instanceof SuiteError) process.stderr.write(`vpt: ${e.message}\n`);
  else process.stderr.write(`vpt: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`);
  process.exit(2);
});
