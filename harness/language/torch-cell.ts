/**
 * A language cell on the PyTorch engine (docs/TRAINER-PROTOCOL.md): the harness writes the prepared cell as the
 * engine's inputs (config JSON + safetensors of token rows and every draw), the engine trains, probes, tracks the
 * validation loss, computes the test NLL and decodes greedily, and the harness scores the decodings as it scores
 * the tfjs engine's (lm-eval gsm8k extraction) and records the cell in the same shape.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { TypedArrayTensor } from '../engine/safetensors.js';
import { saveSafetensors } from '../engine/safetensors.js';
import { read } from '../engine/read.js';
import { Rng } from '../engine/rng.js';
import type { TrainerEngineInfo } from '../results/schema.js';
import type { CellOutcome, CellPaths, ProgressFn } from '../tasks/contract.js';
import type { TorchConfig } from '../suite/schema.js';
import { runEngine, type EngineMessage } from '../trainer/process.js';
import { probeTorchEngine, TRAINER_PROTOCOL, type TorchProbe } from '../trainer/python.js';
import { probeSteps } from './arms/designer-arms.js';
import { trimPadding } from './arms/feedback.js';
import { readAlphaSchedule } from './arms/gate-controls.js';
import { directions, metaShares, prepareLanguageCell, withoutMeasurement, writeSamples, type PreparedCell } from './cell.js';
import { costOnlyReads } from './calibrate.js';
import type { LanguageSuite } from './schema.js';
import { summariseCosts, type ArmCost } from '../bench/step-cost.js';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { formatQA } from './data/numina.js';
import { padDocs, selectRows, type TokenRows } from './data/pack.js';
import { designerShapeOf, LmDesigner } from './designer/lm-designer.js';
import { gsm8kPrompts, nllMetric, scoreGenerations } from './eval/evaluate.js';
import { cutAtStop, GSM8K_STOP, promptIds } from './model/generate.js';
import { isDecoder, subsetNames } from './model/gpt.js';
import { loraInit } from './model/hf-checkpoint.js';
import { isHfModel } from './schema.js';

/** The torch engine's defaults where the suite gives no `torch` key. */
export const TORCH_DEFAULTS: TorchConfig = { device: 'auto', dtype: 'auto', threads: 1, directional: 'exact', nproc: 1, shardOptimizer: false };

/** Each target rule the engine implements, by arm name. */
const RULES: Record<string, string> = {
  baseline: 'onehot', 'uniform-topk': 'uniform-topk', 'self-distill': 'self-distill', 'oracle-gate': 'oracle-gate',
  'schedule-matched': 'schedule', 'v-pretraining': 'designer', 'random-feedback': 'designer', 'shuffled-feedback': 'designer',
};

function rowsTensors(prefix: string, r: TokenRows, withWrong = false): Record<string, TypedArrayTensor> {
  const shape = [r.rows, r.seqLen];
  return {
    [`${prefix}.inputs`]: { shape, data: r.inputs },
    [`${prefix}.targets`]: { shape, data: r.targets },
    [`${prefix}.mask`]: { shape, data: r.mask },
    ...(withWrong ? { [`${prefix}.wrong`]: { shape, data: r.wrong } } : {}),
  };
}

/** Index lists of equal length as one [n, k] I32 tensor. */
function indexMatrix(xs: readonly number[][], k: number): TypedArrayTensor {
  return { shape: [xs.length, k], data: Int32Array.from(xs.flat()) };
}

/** The designer's initial parameters, drawn as the tfjs engine draws them (the arm's 'designer-init' fork). */
async function designerInit(p: PreparedCell): Promise<Record<string, TypedArrayTensor>> {
  const d = p.design;
  const designer = new LmDesigner(designerShapeOf(d, p.config.vocabSize, p.rows.seqLen), new Rng(p.cell.seed).fork('arm').fork('designer-init'));
  try {
    const out: Record<string, TypedArrayTensor> = {};
    for (const [name, v] of Object.entries(designer.vars)) out[`designer.${name}`] = { shape: v.shape, data: (await read(v)) as Float32Array };
    return out;
  } finally {
    designer.dispose();
  }
}

/** The evaluated test items and their prompts as decoding sees them. */
function evalInputs(p: PreparedCell): { items: ReturnType<typeof gsm8kPrompts>['items']; ids: number[][] } {
  const cfg = p.s.eval.gsm8k;
  const { items, prompts } = gsm8kPrompts(p.data.test, p.data.train, cfg);
  return { items, ids: prompts.map((x) => promptIds(p.tokenizer, x, p.config.blockSize, cfg.maxNewTokens)) };
}

/** The engine's `model`: the vpt GPT's checkpoint folder and shape, or the pretrained decoder's folder and training. */
function modelInputs(p: PreparedCell): Record<string, unknown> {
  const m = p.s.model;
  if (!isHfModel(m)) return { kind: 'vpt-gpt', dir: p.baseDir, gpt: p.config };
  return { kind: 'hf', dir: resolve(m.path), init: 'checkpoint', trainable: m.trainable, weightsDtype: m.weightsDtype };
}

/** Writes `inputs.json` and `inputs.safetensors` for the engine into `dir`. */
export async function writeTorchInputs(p: PreparedCell, dir: string, torch: TorchConfig, mode: 'run' | 'calibrate' = 'run'): Promise<void> {
  mkdirSync(dir, { recursive: true });
  const { s, design, steps, config, tokenizer } = p;
  const rule = RULES[p.arm.name];
  if (!rule) throw new Error(`the torch engine has no rule for arm '${p.arm.name}'`);
  const tensors: Record<string, TypedArrayTensor> = {
    ...rowsTensors('train', p.rows, true),
    batches: indexMatrix(p.draws.batches, s.train.batchSize),
  };
  const a = p.draws.arm;
  if (a && p.feedbackRows) {
    Object.assign(tensors, rowsTensors('feedback', a.designRows), { feedback_draws: indexMatrix(a.feedback, Math.min(design.feedbackBatch, a.designRows.rows)) });
    if (a.probeFeedback) Object.assign(tensors, rowsTensors('probe_feedback', trimPadding(selectRows(p.feedbackRows, a.probeFeedback))));
    Object.assign(tensors, await designerInit(p));
  }
  // The adapters' initial values, as the tfjs engine starts from them (A uniform ±1/√in, B zero).
  if (isDecoder(config) && config.lora) {
    for (const [name, a] of Object.entries(loraInit(config, new Rng(p.cell.seed).fork('lora-init')))) tensors[`lora.${name}`] = a;
  }
  if (p.probing && p.probeRows) Object.assign(tensors, rowsTensors('probe', p.probeRows));
  if (p.validation.length) Object.assign(tensors, rowsTensors('validation', padDocs(tokenizer, p.validation.map((v) => formatQA(v.question, v.answer)))));
  const ev = evalInputs(p);
  Object.assign(tensors, rowsTensors('test', padDocs(tokenizer, ev.items.map((v) => formatQA(v.question, v.answer)))));
  const offsets = [0];
  for (const x of ev.ids) offsets.push((offsets[offsets.length - 1] as number) + x.length);
  tensors['prompts.ids'] = { shape: [offsets[offsets.length - 1] as number], data: Int32Array.from(ev.ids.flat()) };
  tensors['prompts.offsets'] = { shape: [offsets.length], data: Int32Array.from(offsets) };
  saveSafetensors(join(dir, 'inputs.safetensors'), tensors, { format: 'vpt-trainer-inputs' });
  const inputs = {
    protocol: TRAINER_PROTOCOL,
    task: 'language',
    cell: p.cell.id,
    mode,
    device: torch.device,
    dtype: torch.dtype,
    threads: torch.threads,
    directional: torch.directional,
    ...(torch.nproc > 1 ? { launch: { nproc: torch.nproc, ...(torch.shardOptimizer ? { shardOptimizer: true } : {}) } } : {}),
    model: modelInputs(p),
    train: { steps, batchSize: s.train.batchSize, accum: s.train.accum ?? 1, seqLen: p.rows.seqLen, logEvery: s.train.logEvery, optim: { ...s.train, totalSteps: steps } },
    arm: { name: p.arm.name, version: p.arm.version, rule },
    ...(rule === 'designer' ? { feedback: p.arm.name === 'random-feedback' ? 'random' : p.arm.name === 'shuffled-feedback' ? 'shuffled' : 'true' } : {}),
    design,
    // A pretrained decoder's S is named by the engine (its own parameter names); the vpt GPT's here.
    subset: isDecoder(config) ? { blocks: design.subsetBlocks } : { from: config.nLayer - design.subsetBlocks, names: subsetNames(config, design.subsetBlocks) },
    noiseSeed: p.draws.noiseSeed,
    ...(rule === 'schedule' && p.reads ? { alphaSchedule: readAlphaSchedule(p.reads) } : {}),
    probeSteps: p.probing ? probeSteps(steps, design.probePoints) : [],
    eval: { maxNewTokens: s.eval.gsm8k.maxNewTokens, eosId: tokenizer.eosId, stopIds: GSM8K_STOP.map((x) => tokenizer.encode(x)), batchSize: 64 },
  };
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputs, null, 1));
}

/** What the engine's result line holds (docs/TRAINER-PROTOCOL.md, Output). */
interface TorchResult {
  curve: { step: number; loss: number; lr: number; gradNorm: number }[];
  downstream: { step: number; nll: number }[];
  diagnostics: Record<string, number>;
  curves: Record<string, unknown[]>;
  timing: { wallMs: number; msPerStep: number; trackMs: number; evalMs: number };
  memory: { peakBytes?: number; rssPeakBytes: number };
  testNll: { perItem: number[]; sum: number; count: number };
  generations: number[][];
}

/** The cell's engine record, from the engine's hello line. */
export function engineInfo(hello: EngineMessage): TrainerEngineInfo {
  const e = (hello.engine ?? {}) as Record<string, unknown>;
  return {
    trainer: 'torch', backend: 'torch', device: String(e.device ?? '?'), version: String(e.version ?? '?'), torchVersion: String(e.torch ?? '?'),
    dtype: String(e.dtype ?? '?'), threads: Number(e.threads ?? 0), paths: (e.paths ?? {}) as Record<string, string>,
  };
}

/** The interpreter, probed once per worker process and settings. */
const probes = new Map<string, Promise<TorchProbe>>();
export function torchProbe(torch: TorchConfig): Promise<TorchProbe> {
  const key = `${torch.python ?? ''}|${torch.device}|${torch.dtype}|${torch.threads}`;
  if (!probes.has(key)) probes.set(key, probeTorchEngine(torch.python, torch.device, { dtype: torch.dtype, threads: torch.threads }));
  return probes.get(key) as Promise<TorchProbe>;
}

export async function runOnTorch(p: PreparedCell, paths: CellPaths, progress?: ProgressFn): Promise<CellOutcome> {
  const torch = torchConfigOf(p.s);
  const { python } = await torchProbe(torch);
  const dir = join(paths.dir, 'engine');
  await writeTorchInputs(p, dir, torch);
  const { hello, final } = await runEngine({
    python, mode: 'run', inputsDir: dir,
    env: { OMP_NUM_THREADS: String(torch.threads), OPENBLAS_NUM_THREADS: String(torch.threads) },
    onMessage: (m) => {
      if (m.type === 'progress') progress?.({ phase: String(m.phase), done: Number(m.done), total: Number(m.total) });
    },
  });
  const r = final as unknown as TorchResult;
  const { s, steps } = p;
  const diagnostics: Record<string, number> = { ...r.diagnostics, base_answer_nll: p.base.metrics['answer_nll,none']?.value ?? Number.NaN };
  const train = withoutMeasurement(r.timing, r.timing.trackMs + (diagnostics.measure_ms ?? 0), steps * (s.train.accum ?? 1) * s.train.batchSize * p.rows.seqLen);
  metaShares(diagnostics, train.wallMs, steps);
  const { items } = evalInputs(p);
  if (r.generations.length !== items.length) throw new Error(`the torch engine returned ${r.generations.length} decodings for ${items.length} prompts`);
  const texts = r.generations.map((ids) => cutAtStop(p.tokenizer.decode(ids), GSM8K_STOP)[0]);
  const { samples, metrics } = scoreGenerations(items, texts);
  metrics['answer_nll,none'] = nllMetric(r.testNll.perItem, r.testNll.sum, r.testNll.count);
  writeSamples(paths.dir, samples);
  return {
    metrics,
    higherIsBetter: directions(metrics),
    diagnostics,
    dataHashes: p.data.hashes,
    baseHash: p.base.hash,
    steps: { planned: steps, done: steps },
    timings: { trainMs: train.wallMs, evalMs: r.timing.evalMs, msPerStep: train.msPerStep, tokensPerSecond: train.tokensPerSecond, totalMs: 0 },
    curves: { train: r.curve, ...(r.downstream.length ? { downstream: r.downstream } : {}), ...r.curves },
    extra: {
      memory: { rssPeakBytes: r.memory.rssPeakBytes, ...(r.memory.peakBytes !== undefined ? { devicePeakBytes: r.memory.peakBytes } : {}) },
      ...(p.decontamination ? { decontamination: p.decontamination } : {}),
    },
    engine: engineInfo(hello),
  };
}

/** The settings of the suite's torch engine, its defaults filled in. */
export function torchConfigOf(s: LanguageSuite): TorchConfig {
  return { ...TORCH_DEFAULTS, ...(s.torch ?? {}) };
}

/** The engine as a calibration records it (the same words a cell's hello gives). */
export async function torchEngineInfo(s: LanguageSuite): Promise<TrainerEngineInfo> {
  const torch = torchConfigOf(s);
  return engineInfo({ type: 'hello', engine: (await torchProbe(torch)).engine });
}

/** Timed cadence cycles of the engine's calibrate mode: one warm-up cycle, then this many. */
const CALIBRATION_CYCLES = 5;

/**
 * Per-step cost of `armName` on the torch engine, measured by the engine itself: cycles of `design.metaEvery`
 * learner steps from step `design.burnIn` on (each holds one meta step for a designer arm), on a cell prepared as
 * a real one is (seed 0), warm-up excluded.
 */
export async function measureTorchStepCost(s: LanguageSuite, armName: string, cacheDir: string): Promise<ArmCost> {
  const torch = torchConfigOf(s);
  const { python } = await torchProbe(torch);
  const r = s.design.metaEvery;
  const steps = s.design.burnIn + (CALIBRATION_CYCLES + 1) * r;
  const dir = mkdtempSync(join(tmpdir(), 'vpt-torch-calibrate-'));
  try {
    const cell = { id: `${s.name}/${armName}/calibration`, suite: s.name, armId: armName, arm: { arm: armName, decontaminate: false }, seed: 0, plan: { budget: { kind: 'updates' as const }, steps } };
    const p = await prepareLanguageCell(s, cell, { dir, cacheDir });
    const prepared: PreparedCell = p.arm.reads === undefined ? p : { ...p, reads: costOnlyReads(s) };
    await writeTorchInputs(prepared, join(dir, 'engine'), torch, 'calibrate');
    const { final } = await runEngine({ python, mode: 'calibrate', inputsDir: join(dir, 'engine'), env: { OMP_NUM_THREADS: String(torch.threads), OPENBLAS_NUM_THREADS: String(torch.threads) } });
    const samples = (final.samples ?? []) as number[];
    if (!samples.length) throw new Error(`the torch engine's calibration of '${armName}' recorded no timed cycle`);
    return summariseCosts(samples, Number(final.cycleSteps ?? r));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
