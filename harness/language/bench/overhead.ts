/**
 * `vpt bench`: the overhead table in the paper's shape. For each configuration and arm: tokens/s at the
 * configuration's meta-step cadence, ms per learner step, the share of a step spent building targets, the
 * meta step's time and its share of training time at cadence r, and peak memory (tfjs bytes, process RSS).
 * Every case runs in a fresh worker process, each repeated, the order of all runs shuffled with a seeded RNG;
 * the table gives medians and [min–max] over repeats. With PyTorch importable, the same GPT in PyTorch on one
 * thread runs beside them as a reference (optional; never a product dependency).
 */
import { findTorchPython } from '../../trainer/python.js';
import { UserError } from '../../errors.js';
import { runEngineBench } from './torch-bench.js';
import { execa } from 'execa';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { MetaParts } from '../arms/designer-arms.js';
import type { BackendName } from '../../engine/backend.js';
import { Rng } from '../../engine/rng.js';
import { REPO_ROOT } from '../../results/version.js';
import { baseNameOf, type BenchConfig } from './cases.js';
import { BASE_STAGE, median, medianParts, RESULT_PREFIX, type BenchJob, type BenchRun, type KernelTime } from './job.js';
import type { StepWork } from '../../bench/work.js';

/** Options of an overhead benchmark. */
export interface OverheadOptions {
  configs: BenchConfig[];
  /** Measure only these arms (default: each configuration's). */
  arms?: string[];
  /** Fresh-process runs per case. Default 3. */
  repeats?: number;
  /** Timed learner steps per run. Default 8. */
  steps?: number;
  /** Untimed steps before them. Default 2. */
  warmup?: number;
  /** Seeds the run order and the models. Default 1. */
  seed?: number;
  /** PyTorch reference: 'auto' (if importable, default), 'on' (required), 'off'. */
  torch?: 'auto' | 'on' | 'off';
  /** Python interpreter for the PyTorch reference. Default: $VPT_PYTHON, else python3, else /usr/bin/python3. */
  python?: string;
  /** Where the PyTorch reference runs: 'cpu' (one thread, default) or 'cuda' (a GPU runner's card). */
  torchDevice?: 'cpu' | 'cuda';
  backend?: BackendName;
  /** Profile this many baseline learner steps per run kernel by kernel (tf.profile). Default 0 (off). */
  profile?: number;
  /** Also time the base stage's two-thread sharded training beside the baseline. Default false. */
  baseStage?: boolean;
  onProgress?: (msg: string) => void;
}

/** Median and range over repeats. */
export interface Stat {
  median: number;
  min: number;
  max: number;
  n: number;
}

export interface ArmRow {
  config: string;
  arm: string;
  /** Meta step every r learner steps (the configuration's cadence). */
  cadence: number;
  tokensPerStep: number;
  /** Tokens per second of training at cadence r: tokens / (learner step + meta step / r). */
  tokensPerSec: Stat;
  /** tokens/s relative to the same configuration's baseline. */
  vsBaseline: number;
  /** Tokens per second of process CPU time at cadence r (other load on the machine distorts it least). */
  tokensPerCpuSec: Stat;
  vsBaselineCpu: number;
  /** Meta step ÷ learner step in CPU time. */
  metaPerStepCpu: number | null;
  learnerMs: Stat;
  targetMs: Stat;
  /** Target building as a fraction of a learner step. */
  targetShare: number;
  metaMs: Stat | null;
  /** Meta step ÷ learner step. */
  metaPerStep: number | null;
  /** Meta steps' share of training time at cadence r: meta / (r·learner + meta). */
  metaShare: number | null;
  /** The meta step's pieces (medians over runs of each run's median; null on WebGPU and without a designer). */
  metaParts: MetaParts | null;
  tfPeakBytes: number;
  rssPeakBytes: number;
  /** Multiply-adds of a learner step, meta step and g_down (from the case's first run; null where none counted them). */
  work: StepWork | null;
  /**
   * tokens/s relative to the baseline's at cadence r if every multiply-add ran at one rate: baseline learner work ÷
   * (this arm's learner work + meta work / r). What the same computation allows however fast its kernels get.
   */
  workVsBaseline: number | null;
  /** The torch engine on CUDA: learner-step FLOPs per second ÷ the card's bf16 peak (median over runs). */
  mfu: number | null;
}

export interface TorchRow {
  config: string;
  engine: string;
  threads: number;
  tokensPerStep: number;
  stepMs: Stat;
  tokensPerSec: Stat;
  tokensPerCpuSec: Stat;
  rssPeakBytes: number;
  /** vpt baseline tokens/s ÷ PyTorch tokens/s (same configuration, same run). */
  vptRatio: number;
  /** The same ratio in tokens per CPU second. */
  vptRatioCpu: number;
}

/** The baseline learner step kernel by kernel (median over runs), and what is left outside kernels. */
export interface KernelProfile {
  config: string;
  /** Wall ms of a profiled step (tf.profile adds some overhead of its own). */
  stepMs: number;
  /** Sum of the kernels' times. */
  kernelMs: number;
  kernels: KernelTime[];
}

export interface MachineInfo {
  cpu: string;
  cpus: number;
  node: string;
  loadStart: number[];
  loadEnd: number[];
  /** Busiest other processes at start and end (`ps`), to say what else was running. */
  busyStart: string[];
  busyEnd: string[];
}

export interface OverheadReport {
  machine: MachineInfo;
  engine: BenchRun['engine'] | null;
  options: { repeats: number; steps: number; warmup: number; seed: number; torch: string };
  configs: {
    name: string; source: string; engine: BenchRun['engine']; vocabSize: number; params: number; model: BenchConfig['model']; batchSize: number; cadence: number;
    feedbackBatch: number; subsetBlocks: number; accum?: number; hf?: BenchConfig['hf'];
  }[];
  rows: ArmRow[];
  torch: TorchRow[];
  profiles: KernelProfile[];
  /** Every run, in the order they ran. */
  runs: (BenchRun | (TorchRun & { config: string }))[];
}

interface TorchRun {
  engine: string;
  threads: number;
  params: number;
  tokensPerStep: number;
  stepMs: number[];
  stepCpuMs: number[];
  rssPeakBytes: number;
}

/** Arms the torch engine's bench mode runs (docs/TRAINER-PROTOCOL.md, Benchmarks). */
const ENGINE_BENCH_ARMS = new Set(['baseline', 'uniform-topk', 'self-distill', 'v-pretraining', 'random-feedback', 'shuffled-feedback']);

const WORKER = fileURLToPath(new URL('./worker.ts', import.meta.url));
const TORCH_SCRIPT = fileURLToPath(new URL('./torch_gpt.py', import.meta.url));

function stat(xs: number[]): Stat {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

async function busyProcesses(): Promise<string[]> {
  const r = await execa('ps', ['-eo', 'pcpu,etime,args', '--sort=-pcpu'], { reject: false });
  if (r.exitCode !== 0) return [];
  return r.stdout.split('\n').slice(1, 6).map((l) => l.trim().slice(0, 160));
}

type Job = { kind: 'vpt'; job: BenchJob } | { kind: 'torch'; config: BenchConfig } | { kind: 'engine'; config: BenchConfig; arm: string; seed: number };

export async function runOverhead(o: OverheadOptions): Promise<OverheadReport> {
  const repeats = o.repeats ?? 3;
  const steps = o.steps ?? 8;
  const warmup = o.warmup ?? 2;
  const seed = o.seed ?? 1;
  const torchMode = o.torch ?? 'auto';
  const log = o.onProgress ?? (() => {});
  const machine: MachineInfo = {
    cpu: os.cpus()[0]?.model ?? 'unknown', cpus: os.cpus().length, node: process.version,
    loadStart: os.loadavg(), loadEnd: [], busyStart: await busyProcesses(), busyEnd: [],
  };
  const torchDevice = o.torchDevice ?? 'cpu';
  const python = torchMode === 'off' ? undefined : await findTorchPython(o.python, torchDevice);
  const torchNeed = torchDevice === 'cuda' ? 'import torch with a CUDA device' : 'import torch';
  if (torchMode === 'on' && !python) throw new Error(`--torch on: no python3 here can ${torchNeed} (Debian: apt-get install python3-torch libopenblas0-pthread)`);
  if (torchMode === 'auto' && !python) log(`PyTorch reference skipped: no python3 here can ${torchNeed}`);

  const engineConfigs = o.configs.filter((c) => c.trainer === 'torch');
  const enginePython = engineConfigs.length ? await findTorchPython(o.python, torchDevice) : undefined;
  if (engineConfigs.length && !enginePython) throw new UserError(`--trainer torch: no python3 here can ${torchNeed} (Debian: apt-get install python3-torch libopenblas0-pthread)`);
  const jobs: Job[] = [];
  for (const config of o.configs) {
    // The baseline always runs: every other arm is reported relative to it.
    const arms = config.arms.filter((a) => a === 'baseline' || !o.arms || o.arms.includes(a));
    if (config.trainer === 'torch') {
      // The engine's bench runs the rules that need no recorded trajectory nor wrong-token labels.
      for (let r = 0; r < repeats; r++) for (const arm of arms.filter((a) => ENGINE_BENCH_ARMS.has(a))) jobs.push({ kind: 'engine', config, arm, seed: seed + r });
      continue;
    }
    if (o.baseStage) arms.push(BASE_STAGE);
    for (let r = 0; r < repeats; r++) {
      for (const arm of arms) {
        const profileSteps = arm === 'baseline' && o.profile ? o.profile : 0;
        const backend = config.backend ?? o.backend;
        jobs.push({ kind: 'vpt', job: { config, arm, steps, warmup, seed: seed + r, ...(backend ? { backend } : {}), ...(profileSteps ? { profileSteps } : {}), countWork: r === 0 } });
      }
      // Copies of one configuration on several backends share one PyTorch reference.
      if (python && config === o.configs.find((c) => baseNameOf(c) === baseNameOf(config))) jobs.push({ kind: 'torch', config });
    }
  }
  const order = new Rng(seed).fork('bench-order').shuffle(jobs);
  const dir = mkdtempSync(join(os.tmpdir(), 'vpt-bench-'));
  const runs: OverheadReport['runs'] = [];
  const vocabOf = new Map<string, number>();
  try {
    for (const [i, j] of order.entries()) {
      const label = j.kind === 'vpt' ? `${j.job.config.name}/${j.job.arm}` : j.kind === 'engine' ? `${j.config.name}/${j.arm}` : `${j.config.name}/pytorch`;
      log(`[${i + 1}/${order.length}] ${label}`);
      if (j.kind === 'engine') {
        const run = await runEngineBench(j.config, j.arm, { python: enginePython as string, device: torchDevice, steps, warmup, seed: j.seed });
        vocabOf.set(run.config, run.vocabSize);
        runs.push(run);
        log(`  ${label}: learner step ${run.learnerMs.toFixed(1)} ms (${Math.round((run.tokensPerStep / run.learnerMs) * 1000)} tokens/s)${run.metaMs !== null ? `, meta step ${run.metaMs.toFixed(1)} ms` : ''}${run.mfu !== null ? `, MFU ${(100 * run.mfu).toFixed(1)}%` : ''}`);
      } else if (j.kind === 'vpt') {
        const f = join(dir, `job-${i}.json`);
        writeFileSync(f, JSON.stringify(j.job));
        const r = await execa(process.execPath, ['--import', 'tsx', WORKER, f], { reject: false, cwd: REPO_ROOT });
        const line = r.stdout.split('\n').find((l) => l.startsWith(RESULT_PREFIX));
        if (r.exitCode !== 0 || !line) throw new Error(`bench case ${label} failed (exit ${r.exitCode}):\n${r.stderr.slice(-2000)}`);
        const run = JSON.parse(line.slice(RESULT_PREFIX.length)) as BenchRun;
        vocabOf.set(run.config, run.vocabSize);
        runs.push(run);
        // Each run's figures as it finishes, so a bench cut short (a time-boxed CI step) still leaves them in its log.
        log(`  ${label}: learner step ${run.learnerMs.toFixed(1)} ms (${Math.round((run.tokensPerStep / run.learnerMs) * 1000)} tokens/s)${run.metaMs !== null ? `, meta step ${run.metaMs.toFixed(1)} ms` : ''}`);
      } else {
        const m = j.config.model;
        // The vocabulary is the tokenizer's for suite configs: known once a vpt run of the config reported it.
        const vocab = m.vocabSize ?? vocabOf.get(j.config.name) ?? (await vocabFromData(j.config));
        const args = [TORCH_SCRIPT, '--vocab', String(vocab), '--width', String(m.nEmbd), '--heads', String(m.nHead), '--layers', String(m.nLayer),
          '--seq', String(m.blockSize), '--batch', String(j.config.batchSize), '--steps', String(steps), '--warmup', String(warmup), '--threads', '1', '--device', torchDevice];
        const r = await execa(python as string, args, { reject: false, env: { OMP_NUM_THREADS: '1', OPENBLAS_NUM_THREADS: '1' } });
        if (r.exitCode !== 0) throw new Error(`PyTorch reference for ${j.config.name} failed:\n${r.stderr.slice(-2000)}`);
        const t = JSON.parse(r.stdout.trim().split('\n').pop() as string) as TorchRun;
        runs.push({ ...t, config: baseNameOf(j.config) });
        log(`  ${label}: step ${median(t.stepMs).toFixed(1)} ms (${Math.round((t.tokensPerStep / median(t.stepMs)) * 1000)} tokens/s)`);
      }
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  machine.loadEnd = os.loadavg();
  machine.busyEnd = await busyProcesses();
  return summarise(o.configs, runs, { repeats, steps, warmup, seed, torch: python ? `${torchMode} (${python}, ${torchDevice})` : torchMode }, machine);
}

async function vocabFromData(c: BenchConfig): Promise<number> {
  const { benchData } = await import('./cases.js');
  return benchData(c).vocabSize;
}

/** Medians of each work figure over the runs that counted it (the first of each case). */
function workOf(rs: BenchRun[]): StepWork | null {
  const ws = rs.map((x) => x.work).filter((x): x is StepWork => x !== undefined);
  if (ws.length === 0) return null;
  const orNull = (xs: (number | null)[]): number | null => (xs.every((x): x is number => x !== null) ? median(xs) : null);
  return {
    learner: median(ws.map((w) => w.learner)),
    meta: orNull(ws.map((w) => w.meta)),
    gDown: orNull(ws.map((w) => w.gDown)),
    feedbackBatch: ws[0]!.feedbackBatch,
  };
}

/** Medians over runs of each meta-step piece, where every run recorded them. */
function partsOf(rs: BenchRun[]): MetaParts | null {
  const ps = rs.map((x) => x.metaParts).filter((x): x is MetaParts => x !== undefined);
  return ps.length === rs.length ? (medianParts(ps) ?? null) : null;
}

function isVpt(r: OverheadReport['runs'][number]): r is BenchRun {
  return 'arm' in r;
}

export function summarise(configs: BenchConfig[], runs: OverheadReport['runs'], options: OverheadReport['options'], machine: MachineInfo): OverheadReport {
  const rows: ArmRow[] = [];
  const torch: TorchRow[] = [];
  const profiles: KernelProfile[] = [];
  const info: OverheadReport['configs'] = [];
  let engine: OverheadReport['engine'] = null;
  for (const c of configs) {
    const r = c.design.metaEvery;
    const mine = runs.filter(isVpt).filter((x) => x.config === c.name);
    if (mine.length === 0) continue;
    engine ??= mine[0]!.engine;
    info.push({
      name: c.name, source: c.source, engine: mine[0]!.engine, vocabSize: mine[0]!.vocabSize, params: mine[0]!.params, model: c.model, batchSize: c.batchSize,
      cadence: r, feedbackBatch: c.design.feedbackBatch, subsetBlocks: c.design.subsetBlocks, ...(c.accum ? { accum: c.accum } : {}), ...(c.hf ? { hf: c.hf } : {}),
    });
    // Rows in the configuration's arm order (the baseline first), not the shuffled order the runs came in.
    const rank = (a: string): number => (a === 'baseline' ? -1 : c.arms.includes(a) ? c.arms.indexOf(a) : c.arms.length);
    const arms = [...new Set(mine.map((x) => x.arm))].sort((a, b) => rank(a) - rank(b));
    const perArm = arms.map((arm) => {
      const rs = mine.filter((x) => x.arm === arm);
      const tps = rs.map((x) => (x.tokensPerStep / (x.learnerMs + (x.metaMs ?? 0) / r)) * 1000);
      const tpc = rs.map((x) => (x.tokensPerStep / (x.learnerCpuMs + (x.metaCpuMs ?? 0) / r)) * 1000);
      const learner = stat(rs.map((x) => x.learnerMs));
      const target = stat(rs.map((x) => x.targetMs));
      const metas = rs.map((x) => x.metaMs).filter((x): x is number => x !== null);
      const meta = metas.length ? stat(metas) : null;
      return {
        config: c.name, arm, cadence: r, tokensPerStep: rs[0]!.tokensPerStep, tokensPerSec: stat(tps), vsBaseline: NaN,
        tokensPerCpuSec: stat(tpc), vsBaselineCpu: NaN,
        metaPerStepCpu: meta ? median(rs.map((x) => x.metaCpuMs ?? NaN)) / median(rs.map((x) => x.learnerCpuMs)) : null,
        learnerMs: learner, targetMs: target, targetShare: target.median / learner.median,
        metaMs: meta, metaPerStep: meta ? meta.median / learner.median : null,
        metaShare: meta ? meta.median / (r * learner.median + meta.median) : null,
        metaParts: partsOf(rs),
        tfPeakBytes: median(rs.map((x) => x.tfPeakBytes)), rssPeakBytes: median(rs.map((x) => x.rssPeakBytes)),
        work: workOf(rs), workVsBaseline: null as number | null,
        mfu: rs.some((x) => typeof x.mfu === 'number') ? median(rs.map((x) => x.mfu ?? NaN)) : null,
      } satisfies ArmRow;
    });
    const base = perArm.find((x) => x.arm === 'baseline');
    const profiled = mine.filter((x) => x.arm === 'baseline' && x.kernels);
    if (profiled.length) {
      const names = [...new Set(profiled.flatMap((x) => x.kernels!.map((k) => k.name)))];
      const kernels = names.map((name) => {
        const hits = profiled.map((x) => x.kernels!.find((k) => k.name === name));
        return { name, ms: median(hits.map((h) => h?.ms ?? 0)), calls: Math.max(...hits.map((h) => h?.calls ?? 0)) };
      }).sort((a, b) => b.ms - a.ms);
      profiles.push({ config: c.name, stepMs: median(profiled.map((x) => x.profiledStepMs ?? NaN)), kernelMs: kernels.reduce((a, k) => a + k.ms, 0), kernels });
    }
    for (const row of perArm) {
      if (base?.work && row.work) row.workVsBaseline = base.work.learner / (row.work.learner + (row.work.meta ?? 0) / r);
      row.vsBaseline = base ? row.tokensPerSec.median / base.tokensPerSec.median : NaN;
      row.vsBaselineCpu = base ? row.tokensPerCpuSec.median / base.tokensPerCpuSec.median : NaN;
    }
    rows.push(...perArm);
    const t = runs.filter((x): x is TorchRun & { config: string } => !isVpt(x) && x.config === baseNameOf(c));
    if (t.length) {
      const stepMs = stat(t.map((x) => median(x.stepMs)));
      const tps = stat(t.map((x) => (x.tokensPerStep / median(x.stepMs)) * 1000));
      const tpc = stat(t.map((x) => (x.tokensPerStep / median(x.stepCpuMs)) * 1000));
      torch.push({
        config: c.name, engine: t[0]!.engine, threads: t[0]!.threads, tokensPerStep: t[0]!.tokensPerStep, stepMs, tokensPerSec: tps, tokensPerCpuSec: tpc,
        rssPeakBytes: median(t.map((x) => x.rssPeakBytes)), vptRatio: base ? base.tokensPerSec.median / tps.median : NaN,
        vptRatioCpu: base ? base.tokensPerCpuSec.median / tpc.median : NaN,
      });
    }
  }
  return { machine, engine, options, configs: info, rows, torch, profiles, runs };
}

/** An engine in words: a tfjs backend and its device, or the torch engine's version, device and dtype. */
function engineWords(e: BenchRun['engine']): string {
  return 'trainer' in e ? `torch engine (torch ${e.torchVersion}), ${e.device}, ${e.dtype}` : `${e.backend}, tfjs ${e.tfjsVersion}, ${e.device}`;
}

const n0 = (x: number): string => Math.round(x).toLocaleString('en-US');
const n1 = (x: number): string => (x >= 100 ? n0(x) : x.toFixed(1));
const pct = (x: number | null): string => (x === null || !Number.isFinite(x) ? '–' : `${(100 * x).toFixed(1)}%`);
const mb = (x: number): string => (x / 2 ** 20).toFixed(0);
const range = (s: Stat, f: (x: number) => string): string => (s.n > 1 ? `${f(s.median)} [${f(s.min)}–${f(s.max)}]` : f(s.median));

const gmac = (x: number): string => (x / 1e9).toPrecision(3);

/**
 * Work per step beside time: how much of a time ratio the computation itself fixes (multiply-adds) and how much
 * is the speed its kernels run at.
 */
function renderWork(rows: ArmRow[]): string[] {
  const counted = rows.filter((r) => r.work);
  const base = counted.find((r) => r.arm === 'baseline');
  if (!base?.work) return [];
  const lines = ['', 'Work per step: multiply-adds of the matMul kernels, counted from their shapes (tf.profile), in G; ' +
    '"work" ratios are what the time ratios would be if every multiply-add ran at one rate, so no faster kernel for the ' +
    'same computation gets past them. g_down per problem: its work ÷ the feedback batch, ÷ this arm\'s learner step.', '',
  '| arm | learner step | × baseline | meta step | g_down (feedback batch) | g_down per problem ÷ learner step | meta ÷ learner step: work | time | tokens/s × baseline at r: work | time |',
  '| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- |'];
  for (const r of counted) {
    const w = r.work as StepWork;
    const meta = w.meta === null ? '–' : gmac(w.meta);
    const gd = w.gDown === null ? '–' : `${gmac(w.gDown)} (${w.feedbackBatch})`;
    const perProblem = w.gDown === null || !w.feedbackBatch ? '–' : (w.gDown / w.feedbackBatch / w.learner).toFixed(4);
    const metaWork = w.meta === null ? '–' : (w.meta / w.learner).toFixed(2);
    const metaTime = r.metaPerStep === null ? '–' : r.metaPerStep.toFixed(2);
    const atR = r.workVsBaseline === null ? '–' : r.workVsBaseline.toFixed(3);
    lines.push(`| ${r.arm} | ${gmac(w.learner)} | ${(w.learner / base.work.learner).toFixed(3)} | ${meta} | ${gd} | ${perProblem} | ${metaWork} | ${metaTime} | ${atR} | ${r.vsBaseline.toFixed(3)} |`);
  }
  return lines;
}

/** The overhead table as Markdown. */
export function renderOverhead(rep: OverheadReport): string {
  const o = rep.options;
  const e = rep.engine;
  const lines: string[] = [];
  lines.push(`# vpt bench: overhead per arm`);
  lines.push('');
  const engines = [...new Set(rep.configs.map((c) => engineWords(c.engine)))];
  lines.push(`${engines.length > 1 ? 'engines side by side (each section names its own)' : e ? engineWords(e) : ''}; ${o.repeats} fresh-process runs per case × ${o.steps} timed steps ` +
    `(after ${o.warmup} untimed), order shuffled (seed ${o.seed}); medians [min–max over runs]. PyTorch reference: ${o.torch}.`);
  const m = rep.machine;
  lines.push(`Machine: ${m.cpu}, ${m.cpus} CPUs, node ${m.node}; load average ${m.loadStart.map((x) => x.toFixed(2)).join(' ')} at start, ` +
    `${m.loadEnd.map((x) => x.toFixed(2)).join(' ')} at end.`);
  for (const c of rep.configs) {
    const md = c.model;
    lines.push('');
    const onTorch = 'trainer' in c.engine;
    lines.push(`## ${c.name} (${c.source}): ${c.hf ? `${String(c.hf.config.architectures && (c.hf.config.architectures as string[])[0])}, ${c.hf.trainable === 'full' ? 'full-parameter' : `LoRA r ${c.hf.trainable.lora.r}`}, ` : ''}vocab ${c.vocabSize}, width ${md.nEmbd}, ${md.nHead} heads, ${md.nLayer} blocks, sequence ${md.blockSize}, ` +
      `batch ${c.batchSize}${c.accum && c.accum > 1 ? ` × ${c.accum}` : ''}, ${n0(c.params)} parameters; meta step every r = ${c.cadence} steps, S = last ${c.subsetBlocks} block(s)${c.hf ? '' : ' + head'}, ` +
      `feedback batch ${c.feedbackBatch}${engines.length > 1 ? `; ${engineWords(c.engine)}` : ''}`);
    lines.push('');
    // The torch engine times device work (CUDA events) or wall time, not process CPU time; on CUDA it reports MFU.
    const mfu = onTorch && rep.rows.some((x) => x.config === c.name && x.mfu !== null);
    lines.push(`| arm | tokens/s at r | × baseline | ms / learner step | target building | meta step ms | meta ÷ learner step | meta share at r | ${onTorch ? 'device' : 'tf'} peak MB | RSS peak MB | ${mfu ? 'MFU (learner step, bf16 peak) |' : 'tokens/CPU-s at r | × baseline (CPU) | meta ÷ learner (CPU) |'}`);
    lines.push(`| --- | --- | --- | --- | --- | --- | --- | --- | --- | --- | ${mfu ? '--- |' : '--- | --- | --- |'}`);
    for (const r of rep.rows.filter((x) => x.config === c.name)) {
      const tail = mfu ? `${pct(r.mfu)} |` : `${Number.isFinite(r.tokensPerCpuSec.median) ? range(r.tokensPerCpuSec, n0) : '–'} | ${Number.isFinite(r.vsBaselineCpu) ? r.vsBaselineCpu.toFixed(2) : '–'} | ${r.metaPerStepCpu === null || !Number.isFinite(r.metaPerStepCpu) ? '–' : r.metaPerStepCpu.toFixed(2)} |`;
      lines.push(`| ${r.arm} | ${range(r.tokensPerSec, n0)} | ${r.vsBaseline.toFixed(2)} | ${range(r.learnerMs, n1)} | ${pct(r.targetShare)} | ` +
        `${r.metaMs ? range(r.metaMs, n1) : '–'} | ${r.metaPerStep === null ? '–' : r.metaPerStep.toFixed(2)} | ${pct(r.metaShare)} | ${mb(r.tfPeakBytes)} | ${mb(r.rssPeakBytes)} | ${tail}`);
    }
    const t = rep.torch.find((x) => x.config === c.name);
    if (t) {
      lines.push(`| ${t.engine} (${t.threads} thread) | ${range(t.tokensPerSec, n0)} | – | ${range(t.stepMs, n1)} | – | – | – | – | – | ${mb(t.rssPeakBytes)} | ${range(t.tokensPerCpuSec, n0)} | – | – |`);
      lines.push('');
      lines.push(`vpt baseline ÷ PyTorch (same GPT, same run): **${t.vptRatio.toFixed(3)}×** in tokens/s, ${t.vptRatioCpu.toFixed(3)}× in tokens per CPU second`);
    }
    const parted = rep.rows.filter((x) => x.config === c.name && x.metaParts && x.metaMs);
    if (parted.length) {
      lines.push('');
      lines.push('Where the meta step goes (ms, and ÷ this arm\'s learner step; "rest": the meta step\'s median less the pieces\' ' +
        'medians, bookkeeping outside them, near 0 and not always positive since medians do not add):');
      lines.push('');
      lines.push('| arm | g_down | D | designer update | rest |');
      lines.push('| --- | --- | --- | --- | --- |');
      for (const r of parted) {
        const p = r.metaParts as MetaParts;
        const l = r.learnerMs.median;
        const cell = (ms: number): string => `${n1(ms)} (${(ms / l).toFixed(2)})`;
        const rest = (r.metaMs as Stat).median - p.gDownMs - p.directionalMs - p.designerMs;
        lines.push(`| ${r.arm} | ${cell(p.gDownMs)} | ${cell(p.directionalMs)} | ${cell(p.designerMs)} | ${cell(rest)} |`);
      }
    }
    lines.push(...renderWork(rep.rows.filter((x) => x.config === c.name)));
  }
  for (const p of rep.profiles) {
    lines.push('');
    lines.push(`## ${p.config}: the baseline learner step kernel by kernel (tf.profile, median over runs)`);
    lines.push('');
    lines.push(`Profiled step ${n1(p.stepMs)} ms, of which kernels ${n1(p.kernelMs)} ms (${pct(p.kernelMs / p.stepMs)}); the rest is JavaScript: ` +
      'op dispatch, the gradient tape, tidy bookkeeping and the profiler itself.');
    lines.push('');
    lines.push('| kernel | ms / step | calls | share of kernels |');
    lines.push('| --- | --- | --- | --- |');
    for (const k of p.kernels.slice(0, 20)) lines.push(`| ${k.name} | ${k.ms.toFixed(2)} | ${k.calls} | ${pct(k.ms / p.kernelMs)} |`);
    const rest = p.kernels.slice(20);
    if (rest.length) lines.push(`| ${rest.length} others | ${rest.reduce((a, k) => a + k.ms, 0).toFixed(2)} | ${rest.reduce((a, k) => a + k.calls, 0)} | ${pct(rest.reduce((a, k) => a + k.ms, 0) / p.kernelMs)} |`);
  }
  lines.push('');
  lines.push('Designer arms run a meta step on every measured step; tokens/s at r counts one meta step per r learner steps. ' +
    'Target building is timed inside the learner step (candidates, designer forward, scatter). CPU columns use process CPU ' +
    'time instead of wall time: on an idle machine they agree; under other load they are the steadier measure. ' +
    `"${BASE_STAGE}" is the base stage's training, each batch in two shards on two threads: its wall time is what ` +
    'the second core buys, its CPU time counts both threads.');
  if (m.busyStart.length) lines.push('', 'Busiest processes at start (ps):', '', ...m.busyStart.map((l) => `    ${l}`));
  return lines.join('\n') + '\n';
}
