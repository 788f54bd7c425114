/** Micro-benchmark (tinybench): the decontamination screen of 10,000 stream items against the references. */
import { parseArgs } from 'node:util';
import { Bench } from 'tinybench';
import { UserError } from '../../errors.js';
import { writeJsonAtomic } from '../../results/atomic.js';
import type { TaskServices } from '../../tasks/contract.js';
import { decontaminateStream } from '../data/decontam.js';
import { loadGsm8k } from '../data/gsm8k.js';
import { loadMathProblems } from '../data/sources.js';
import { DEFAULT_EMBEDDED, generateEmbedded } from '../data/synth/embedded.js';
import type { LanguageSuite } from '../schema.js';

export interface MicroRow {
  name: string;
  meanMs: number;
  p50Ms: number;
  samples: number;
}

/** `references` are question texts (default: the embedded train and test problems). */
export async function benchDecontamination(suite: LanguageSuite, references?: string[], quick = false): Promise<MicroRow[]> {
  const gen = suite.data.kind === 'embedded' ? (({ kind: _k, ...rest }) => rest)(suite.data) : DEFAULT_EMBEDDED;
  const d = generateEmbedded({ ...gen, baseSize: 10, streamSize: 1500 });
  const refs = references ?? [...d.train.map((x) => x.question), ...d.test.map((x) => x.question)];
  const stream = Array.from({ length: 10_000 }, (_, i) => (d.cpt[i % d.cpt.length] as { problem: string }).problem + ` item ${i}`);
  const bench = new Bench({ iterations: quick ? 3 : 10, warmupIterations: 1, time: 0 });
  bench.add(`decontaminate 10,000 stream items against ${refs.length} references`, () => {
    decontaminateStream(stream, refs, suite.decontamination);
  });
  await bench.run();
  return bench.tasks.map((t) => {
    const r = t.result as { latency?: { mean: number; p50?: number; samplesCount?: number } } | undefined;
    return { name: t.name, meanMs: r?.latency?.mean ?? NaN, p50Ms: r?.latency?.p50 ?? NaN, samples: r?.latency?.samplesCount ?? 0 };
  });
}

const USAGE = `usage: vpt tool decontam-bench [--suite lm-ablation] [--gsm8k f.jsonl ...] [--math f.jsonl ...] [--quick] [--json file]
  (also: vpt bench --decontam with the same flags)
  --suite  language suite whose decontamination settings and embedded data to use (default lm-ablation)
  --gsm8k  GSM8K JSONL files whose questions are the references (default: the embedded train and test problems)
  --math   MATH JSONL files whose problems are references
  --quick  3 iterations instead of 10
  --json   also write the rows as JSON`;

/** `vpt tool decontam-bench`: times the screen of 10,000 stream items (tinybench). */
export async function runDecontamBench(argv: string[], services: TaskServices): Promise<void> {
  const { values: o } = parseArgs({
    args: argv,
    options: {
      suite: { type: 'string', default: 'lm-ablation' },
      gsm8k: { type: 'string', multiple: true },
      math: { type: 'string', multiple: true },
      set: { type: 'string', multiple: true },
      quick: { type: 'boolean', default: false },
      json: { type: 'string' },
      help: { type: 'boolean', short: 'h', default: false },
    },
  });
  if (o.help) {
    process.stdout.write(`${USAGE}\n`);
    return;
  }
  const suite = await services.loadSuite(o.suite, o.set ?? []);
  if (suite.task !== 'language') throw new UserError(`--suite ${o.suite}: a ${suite.task} suite; the decontamination screen belongs to language suites`);
  const refs = [...(o.gsm8k ?? []).flatMap((f) => loadGsm8k(f).map((x) => x.question)), ...(o.math ?? []).flatMap(loadMathProblems)];
  const rows = await benchDecontamination(suite as LanguageSuite, refs.length ? refs : undefined, o.quick);
  for (const r of rows) process.stdout.write(`${r.meanMs.toFixed(1).padStart(10)} ms  (p50 ${r.p50Ms.toFixed(1)} ms, n=${r.samples})  ${r.name}\n`);
  if (o.json) writeJsonAtomic(o.json, rows);
}
