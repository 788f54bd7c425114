/**
 * The quick vision run, end to end, in worker processes (one core each): base pretraining (then its
 * evaluation) beside the random-init evaluation, then one continued-pretraining cell per seed, then a table of
 * the three rows (random-init backbone, base checkpoint, baseline = continued DINO) with mean ± sd over seeds.
 * A stand-in until the suite runner dispatches vision cells through the task registry.
 *
 *   npx tsx harness/vision/quick.ts [--workers 2] [--seeds 1,2] [--cache .cache] [--out runs/vision-quick]
 */
import { Command } from 'commander';
import { execa } from 'execa';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetricValue } from '../eval/gsm8k/evaluate.js';
import { PROBE_HIGHER_IS_BETTER } from '../eval/probes/metrics.js';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';
import { PROGRESS_PREFIX } from '../runner/protocol.js';
import type { ReferenceEvaluation, VisionBaseInfo } from './base.js';
import type { VisionCellResult } from './cell.js';
import type { VisionJob } from './job.js';
import { parseVisionConfig, type VisionConfig, type VisionConfigInput } from './schema.js';

/** The quick vision suite's settings (sized to finish in 10 minutes on 2 cores with 2 workers). */
export const QUICK_VISION: VisionConfigInput = {
  model: { imageSize: 32, patchSize: 4, width: 64, depth: 4, heads: 4, mlpRatio: 4, headHidden: 256, headBottleneck: 64, headOut: 1024 },
  data: { kind: 'embedded', unlabeled: 2048, feedback: 256, probeTrain: 512, validation: 256, test: 512 },
  base: { steps: 300, batchSize: 16 },
  train: { steps: 200, batchSize: 16 },
};

export const METRIC_COLUMNS = ['miou,none', 'pixel_acc,none', 'rmse,none', 'absrel,none', 'delta1,none', 'top1,none'] as const;

const JOB_MAIN = fileURLToPath(new URL('./job-main.ts', import.meta.url));
const TSX = import.meta.resolve('tsx');

interface JobOutput<T> {
  kind: string;
  seed: number | null;
  totalMs: number;
  cpuMs: number;
  result: T;
}

async function runJob<T>(job: VisionJob, dir: string, name: string, log: (line: string) => void): Promise<JobOutput<T>> {
  const jobFile = join(dir, 'jobs', `${name}.json`);
  writeJsonAtomic(jobFile, job);
  const proc = execa(process.execPath, ['--import', TSX, JOB_MAIN, jobFile], { reject: false, buffer: { stdout: false, stderr: true } });
  let pending = '';
  proc.stdout?.on('data', (chunk: Buffer) => {
    pending += chunk.toString();
    let nl: number;
    while ((nl = pending.indexOf('\n')) >= 0) {
      const line = pending.slice(0, nl);
      pending = pending.slice(nl + 1);
      if (!line.startsWith(PROGRESS_PREFIX)) continue;
      const m = JSON.parse(line.slice(PROGRESS_PREFIX.length)) as { type: string; phase?: string; done?: number; total?: number };
      if (m.type === 'progress') log(`${name}: ${m.phase} ${m.done}/${m.total}`);
    }
  });
  const r = await proc;
  if (r.exitCode !== 0) throw new Error(`${name} failed (exit ${r.exitCode}):\n${String(r.stderr ?? '').trim().split('\n').slice(-8).join('\n')}`);
  return JSON.parse(readFileSync(job.out, 'utf8')) as JobOutput<T>;
}

/** Runs `tasks` with at most `workers` at a time. */
async function pool<T>(workers: number, tasks: (() => Promise<T>)[]): Promise<T[]> {
  const out: T[] = new Array(tasks.length);
  let next = 0;
  await Promise.all(Array.from({ length: Math.max(1, Math.min(workers, tasks.length)) }, async () => {
    while (next < tasks.length) {
      const i = next++;
      out[i] = await (tasks[i] as () => Promise<T>)();
    }
  }));
  return out;
}

export interface VisionRow {
  row: string;
  /** Per metric: mean, sd over seeds (0 for single evaluations), n. */
  metrics: Record<string, { mean: number; sd: number; n: number }>;
}

export interface QuickVisionResult {
  config: VisionConfig;
  rows: VisionRow[];
  markdown: string;
  wallMs: number;
  base: VisionBaseInfo;
  cells: VisionCellResult[];
  /** Wall time of each job, ms. */
  jobMs: Record<string, number>;
  /** CPU time of each job's process, ms (what it would take alone on an idle core). */
  jobCpuMs: Record<string, number>;
}

function summarise(row: string, evals: Record<string, MetricValue>[]): VisionRow {
  const metrics: VisionRow['metrics'] = {};
  for (const k of METRIC_COLUMNS) {
    const xs = evals.map((e) => e[k]?.value).filter((v): v is number => typeof v === 'number');
    if (xs.length === 0) continue;
    const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
    const sd = xs.length > 1 ? Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / (xs.length - 1)) : 0;
    metrics[k] = { mean, sd, n: xs.length };
  }
  return { row, metrics };
}

export function visionTable(rows: VisionRow[]): string {
  const head = METRIC_COLUMNS.map((k) => {
    const name = k.split(',')[0] as string;
    return `${name} ${PROBE_HIGHER_IS_BETTER[name] ? '↑' : '↓'}`;
  });
  const lines = [`| row | n | ${head.join(' | ')} |`, `|---|---|${head.map(() => '---').join('|')}|`];
  for (const r of rows) {
    const n = Math.max(...Object.values(r.metrics).map((m) => m.n));
    const cells = METRIC_COLUMNS.map((k) => {
      const m = r.metrics[k];
      if (!m) return '—';
      const pct = !k.startsWith('rmse') && !k.startsWith('absrel');
      const f = (v: number): string => (pct ? (100 * v).toFixed(1) : v.toFixed(3));
      return m.n > 1 ? `${f(m.mean)} ± ${f(m.sd)}` : f(m.mean);
    });
    lines.push(`| ${r.row} | ${n} | ${cells.join(' | ')} |`);
  }
  return lines.join('\n');
}

export interface QuickVisionOptions {
  seeds: number[];
  workers: number;
  cacheDir: string;
  outDir: string;
  log?: (line: string) => void;
}

export async function runQuickVision(input: VisionConfigInput, o: QuickVisionOptions): Promise<QuickVisionResult> {
  const config = parseVisionConfig(input);
  const log = o.log ?? ((l: string) => process.stderr.write(l + '\n'));
  const t0 = performance.now();
  const job = (kind: VisionJob['kind'], name: string, seed?: number): VisionJob => ({ kind, config, cacheDir: o.cacheDir, out: join(o.outDir, `${name}.json`), ...(seed !== undefined ? { seed } : {}) });
  const [baseOut, initOut] = await pool(o.workers, [
    () => runJob<{ base: VisionBaseInfo; eval: ReferenceEvaluation }>(job('base', 'base'), o.outDir, 'base', log),
    () => runJob<{ eval: ReferenceEvaluation }>(job('random-init', 'random-init'), o.outDir, 'random-init', log),
  ]) as [JobOutput<{ base: VisionBaseInfo; eval: ReferenceEvaluation }>, JobOutput<{ eval: ReferenceEvaluation }>];
  const cellOuts = await pool(o.workers, o.seeds.map((s) => () => runJob<VisionCellResult>(job('cell', `seed-${s}`, s), o.outDir, `seed-${s}`, log)));
  const rows = [
    summarise('random-init backbone', [initOut.result.eval.metrics]),
    summarise('base checkpoint', [baseOut.result.eval.metrics]),
    summarise('baseline (continued DINO)', cellOuts.map((c) => c.result.eval.metrics)),
  ];
  const markdown = visionTable(rows);
  const wallMs = performance.now() - t0;
  const jobMs: Record<string, number> = { base: baseOut.totalMs, 'random-init': initOut.totalMs };
  const jobCpuMs: Record<string, number> = { base: baseOut.cpuMs, 'random-init': initOut.cpuMs };
  cellOuts.forEach((c) => {
    jobMs[`seed-${c.seed}`] = c.totalMs;
    jobCpuMs[`seed-${c.seed}`] = c.cpuMs;
  });
  const result: QuickVisionResult = { config, rows, markdown, wallMs, base: baseOut.result.base, cells: cellOuts.map((c) => c.result), jobMs, jobCpuMs };
  writeJsonAtomic(join(o.outDir, 'summary.json'), result);
  writeFileAtomic(join(o.outDir, 'table.md'), markdown + '\n');
  return result;
}

async function main(): Promise<void> {
  const program = new Command()
    .name('vision-quick')
    .description('Quick vision run: base DINO pretraining, random-init and base reference rows, continued DINO per seed, frozen-backbone probes.')
    .option('--workers <n>', 'worker processes (one core each)', '2')
    .option('--seeds <list>', 'comma-separated training seeds', '1,2')
    .option('--cache <dir>', 'cache folder for the base checkpoint and reference evaluations', '.cache')
    .option('--out <dir>', 'output folder', 'runs/vision-quick')
    .parse();
  const opts = program.opts<{ workers: string; seeds: string; cache: string; out: string }>();
  const seeds = opts.seeds.split(',').map((s) => {
    const n = Number(s);
    if (!Number.isInteger(n) || n < 0) throw new Error(`--seeds: '${s}' is not a non-negative integer`);
    return n;
  });
  const workers = Number(opts.workers);
  if (!Number.isInteger(workers) || workers < 1) throw new Error(`--workers: '${opts.workers}' is not a positive integer`);
  const r = await runQuickVision(QUICK_VISION, { seeds, workers, cacheDir: opts.cache, outDir: opts.out });
  const secs = (o: Record<string, number>): string => JSON.stringify(Object.fromEntries(Object.entries(o).map(([k, v]) => [k, Math.round(v / 1000)])));
  process.stdout.write(`${r.markdown}\n\nwall ${(r.wallMs / 1000).toFixed(0)} s; job wall ${secs(r.jobMs)} s; job cpu ${secs(r.jobCpuMs)} s\n`);
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  main().catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(1);
  });
}
