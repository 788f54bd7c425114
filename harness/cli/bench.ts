/**
 * `vpt bench`: the overhead table in the paper's shape. Presets and suites are measured by the task that owns them
 * (TaskDefinition.bench); `--decontam` runs the language tool `decontam-bench` (also `vpt tool decontam-bench`).
 */
import { Option, type Command } from 'commander';
import { resolve } from 'node:path';
import { BACKENDS, type BackendName } from '../engine/backend.js';
import { UserError } from '../errors.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { loadSuite } from '../suite/load.js';
import { taskByName, taskNames, type Suite, type TaskName } from '../tasks/index.js';
import { collect, int, list } from './options.js';
import { taskServices } from './services.js';
import { runTool } from './tool.js';

interface BenchFlags {
  preset?: string[]; suite?: string[]; arms?: string[]; repeats: number; steps: number; warmup: number; seed: number; torch: 'auto' | 'on' | 'off';
  python?: string; set: string[]; profile: number; backend?: string; json?: string; decontam: boolean; gsm8k?: string[]; math?: string[];
  quick: boolean; baseStage: boolean; torchDevice: 'cpu' | 'cuda'; trainer: 'tfjs' | 'torch';
}

/** The task whose bench names `preset`, or an error listing every preset. */
function presetOwner(preset: string): TaskName {
  const all: string[] = [];
  for (const name of taskNames()) {
    const presets = Object.keys(taskByName(name).bench?.presets ?? {});
    if (presets.includes(preset)) return name;
    all.push(...presets);
  }
  throw new UserError(`unknown bench preset '${preset}' (known: ${all.join(', ')})`);
}

function presetHelp(): string {
  return taskNames().flatMap((n) => Object.entries(taskByName(n).bench?.presets ?? {}).map(([p, d]) => `${p} (${n}): ${d}`)).join('; ');
}

/** `--decontam` as it was: the flags the decontamination micro-bench reads, passed to its tool. */
function decontamArgs(o: BenchFlags): string[] {
  return [
    ...(o.suite?.[0] ? ['--suite', o.suite[0]] : []), ...o.set.flatMap((x) => ['--set', x]), ...(o.gsm8k ?? []).flatMap((f) => ['--gsm8k', f]),
    ...(o.math ?? []).flatMap((f) => ['--math', f]), ...(o.quick ? ['--quick'] : []), ...(o.json ? ['--json', resolve(o.json)] : []),
  ];
}

export function registerBench(program: Command): void {
  program
    .command('bench')
    .description('overhead benchmark in the paper\'s shape: per arm tokens/s, ms per learner step, target-building share, ' +
      'meta-step time and share at the cadence, peak memory; each case in a fresh process, repeated, order shuffled; ' +
      'PyTorch\'s GPT beside it when python3 can import torch')
    .option('--preset <names...>', `named configurations (${presetHelp()})`)
    .option('--suite <suites...>', 'suites whose model, batch, design and arms to measure')
    .option('--arms <list>', 'comma-separated arms to measure (the baseline always runs)', list)
    .option('--repeats <n>', 'fresh-process runs per case', int('--repeats'), 3)
    .option('--steps <n>', 'timed learner steps per run', int('--steps'), 8)
    .option('--warmup <n>', 'untimed learner steps first', int('--warmup'), 2)
    .option('--seed <n>', 'seeds the run order and the models', int('--seed'), 1)
    .addOption(new Option('--torch <mode>', 'PyTorch reference (optional, never a dependency)').choices(['auto', 'on', 'off']).default('auto'))
    .addOption(new Option('--trainer <name>', 'torch: the PyTorch engine\'s arms beside tfjs\'s (its own runs, on --torch-device); tfjs: tfjs alone').choices(['tfjs', 'torch']).default('tfjs'))
    .option('--python <path>', 'interpreter for the PyTorch reference (default $VPT_PYTHON, python3, /usr/bin/python3)')
    .addOption(new Option('--torch-device <device>', "the PyTorch reference's device (cuda: the same GPU as --backend webgpu)").choices(['cpu', 'cuda']).default('cpu'))
    .option('--set <key=value>', 'override a key of every measured configuration (repeatable), e.g. --set design.feedbackBatch=16', collect, [])
    .option('--profile <steps>', 'also profile this many baseline learner steps per run, kernel by kernel', int('--profile'), 0)
    .option('--base-stage', 'also time the base stage (baseline loss, batches in two shards on two threads)', false)
    .option('--backend <names>', `tfjs backend: auto, ${BACKENDS.join(', ')}; several comma-separated (e.g. wasm,webgpu) measure each configuration on each, side by side in one shuffled order`)
    .option('--json <file>', 'also write the report (every run, machine, summary) as JSON')
    .option('--decontam', 'instead: time the decontamination screen of 10,000 stream items (the tool decontam-bench)', false)
    .option('--gsm8k <files...>', 'with --decontam: GSM8K JSONL files whose questions are the references')
    .option('--math <files...>', 'with --decontam: MATH JSONL files whose problems are references')
    .option('--quick', 'one short run per case (--repeats 1 --steps 3 --warmup 1)', false)
    .addHelpText('after', '\nDefault: --preset reference --suite lm-ablation. The numbers of record:\n' +
      '  vpt bench --preset reference --suite lm-ablation --repeats 5 --steps 8 --profile 2 --json bench.json')
    .action(async (o: BenchFlags) => {
      const backends = list(o.backend ?? 'auto');
      const unknown = backends.filter((b) => b !== 'auto' && !(BACKENDS as readonly string[]).includes(b));
      if (unknown.length || backends.length === 0) throw new UserError(`--backend ${o.backend}: unknown backend ${unknown.join(', ') || '(none)'}; choose from auto, ${BACKENDS.join(', ')}`);
      if (backends.length > 1 && backends.includes('auto')) throw new UserError(`--backend ${o.backend}: name the backends to compare ('auto' stands alone)`);
      if (o.decontam) {
        await runTool('decontam-bench', decontamArgs(o));
        return;
      }
      const presets = o.preset ?? (o.suite ? [] : ['reference']);
      const suiteRefs = o.suite ?? (o.preset ? [] : ['lm-ablation']);
      // Each task measures its own presets and suites; tasks in registry order.
      const work = new Map<TaskName, { presets: string[]; suites: Suite[] }>();
      const of = (t: TaskName) => work.get(t) ?? work.set(t, { presets: [], suites: [] }).get(t)!;
      for (const p of presets) of(presetOwner(p)).presets.push(p);
      for (const ref of suiteRefs) {
        const s = (await loadSuite(ref, o.set)).suite;
        of(s.task).suites.push(s);
      }
      const reports: Partial<Record<TaskName, unknown>> = {};
      for (const name of taskNames().filter((n) => work.has(n))) {
        const task = taskByName(name);
        if (!task.bench) throw new UserError(`vpt bench: the ${name} task has no overhead bench yet (its tools: ${Object.keys(task.tools ?? {}).join(', ') || 'none'})`);
        const w = work.get(name)!;
        const { text, report } = await task.bench.overhead({
          presets: w.presets, sets: o.set, suites: w.suites, repeats: o.quick ? 1 : Math.max(1, o.repeats), steps: o.quick ? 3 : Math.max(1, o.steps),
          warmup: o.quick ? 1 : o.warmup, seed: o.seed, backends: backends.filter((b): b is BackendName => b !== 'auto'), torch: o.torch,
          trainers: o.trainer === 'torch' ? ['tfjs', 'torch'] : ['tfjs'],
          torchDevice: o.torchDevice, profile: o.profile, baseStage: o.baseStage, onProgress: (m) => process.stderr.write(`bench ${m}\n`),
          ...(o.arms ? { arms: o.arms } : {}), ...(o.python ? { python: o.python } : {}),
        }, taskServices);
        process.stdout.write(text);
        reports[name] = report;
      }
      // One task (the usual case): its report as it is; several: keyed by task.
      const names = Object.keys(reports);
      if (o.json) writeJsonAtomic(resolve(o.json), names.length === 1 ? reports[names[0] as TaskName] : reports);
    });
}
