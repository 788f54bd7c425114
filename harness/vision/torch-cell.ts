/**
 * A vision cell on the PyTorch engine (docs/TRAINER-PROTOCOL.md, "Vision cells"): the harness trains (or finds)
 * the base checkpoint as for tfjs, makes every draw that is data (torch-draws.ts) and writes them with the
 * feedback and probe images as the engine's inputs; the engine trains the arm and writes the frozen backbone's
 * features of every probe split; the harness fits and scores the probes on those features with the same code as
 * for tfjs, writes the mask previews and records the cell in the same shape.
 */
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { Rng } from '../engine/rng.js';
import { loadSafetensors, saveSafetensors, type NamedArray, type TypedArrayTensor } from '../engine/safetensors.js';
import type { TrainerEngineInfo } from '../results/schema.js';
import type { TorchConfig } from '../suite/schema.js';
import type { CellSpec } from '../suite/cell.js';
import type { CellOutcome, CellPaths, ProgressFn } from '../tasks/contract.js';
import { runEngine, type EngineMessage } from '../trainer/process.js';
import { probeTorchEngine, TRAINER_PROTOCOL, type TorchProbe } from '../trainer/python.js';
import { writeFileAtomic, writeJsonAtomic } from '../results/atomic.js';
import { summariseCosts, type ArmCost } from '../bench/step-cost.js';
import { visionArmRegistry } from './arms/index.js';
import { normalizedCopy, type ImagePool } from './augment.js';
import { backboneHash, backboneHead } from './backbone.js';
import { BASE_OPTIMIZER_FILE, baseProbeChoices, ensureVisionBase, referenceEvalKey, visionBaseDir, visionBaseHash, type ReferenceEvaluation } from './base.js';
import { splitUnlabeled } from './cell.js';
import type { VisionData } from './data/load.js';
import { IGNORE_LABEL, type VisionSplit } from './data/types.js';
import { maskPreviewPng } from './designer/preview.js';
import type { MaskTargets } from './designer/random-rule.js';
import { probeConfig, probeLayers, probeTasks } from './evaluate.js';
import { metaCost, tokensPerImage } from './outcome.js';
import type { ProbeConfig, ProbeName } from './probes/config.js';
import { evaluateProbes, type BackboneEvaluation } from './probes/evaluate.js';
import type { FeatureFn, Features } from './probes/features.js';
import { dinoModelConfig, stageDino, stageOptim, type VisionConfig, type VisionSuite } from './schema.js';
import { cropDraws, designerDraws, maskDraws, type CropDraw, type VisionDraws } from './torch-draws.js';
import { gridSize, vitSubsetNames, vitSubsetStart } from './vit.js';

/** The torch engine's defaults where the suite gives no `torch` key (as for language). */
export const VISION_TORCH_DEFAULTS: TorchConfig = { device: 'auto', dtype: 'auto', threads: 1, directional: 'exact', nproc: 1, shardOptimizer: false };

/** How the engine builds the student's global views, by arm. */
const RULES: Record<string, 'standard' | 'designer' | 'masks'> = {
  baseline: 'standard', 'v-pretraining': 'designer', 'random-feedback': 'designer', 'random-masks': 'masks',
};

export function visionTorchConfig(s: VisionSuite): TorchConfig {
  return { ...VISION_TORCH_DEFAULTS, ...(s.torch ?? {}) };
}

function configOf(s: VisionSuite): VisionConfig {
  return { model: s.model, data: s.data, base: s.base, train: s.train, design: s.design, eval: s.eval };
}

/** The interpreter, probed once per worker process and settings. */
const probes = new Map<string, Promise<TorchProbe>>();
function torchProbe(torch: TorchConfig): Promise<TorchProbe> {
  const key = `${torch.python ?? ''}|${torch.device}|${torch.dtype}|${torch.threads}`;
  if (!probes.has(key)) probes.set(key, probeTorchEngine(torch.python, torch.device, { dtype: torch.dtype, threads: torch.threads }));
  return probes.get(key) as Promise<TorchProbe>;
}

/** The cell's engine record, from the engine's hello line. */
function engineInfo(hello: EngineMessage): TrainerEngineInfo {
  const e = (hello.engine ?? {}) as Record<string, unknown>;
  return {
    trainer: 'torch', backend: 'torch', device: String(e.device ?? '?'), version: String(e.version ?? '?'), torchVersion: String(e.torch ?? '?'),
    dtype: String(e.dtype ?? '?'), threads: Number(e.threads ?? 0), paths: (e.paths ?? {}) as Record<string, string>,
  };
}

export async function visionTorchEngineInfo(s: VisionSuite): Promise<TrainerEngineInfo> {
  return engineInfo({ type: 'hello', engine: (await torchProbe(visionTorchConfig(s))).engine });
}

function threadEnv(torch: TorchConfig): Record<string, string> {
  return { OMP_NUM_THREADS: String(torch.threads), OPENBLAS_NUM_THREADS: String(torch.threads) };
}

/** Equal-shape arrays stacked along a new first axis. */
function stack(xs: readonly Float32Array[], shape: number[]): TypedArrayTensor {
  const per = shape.reduce((a, b) => a * b, 1);
  const out = new Float32Array(xs.length * per);
  xs.forEach((x, i) => out.set(x, i * per));
  return { shape: [xs.length, ...shape], data: out };
}

function stackBytes(xs: readonly Uint8Array[], shape: number[]): TypedArrayTensor {
  const per = shape.reduce((a, b) => a * b, 1);
  const out = new Uint8Array(xs.length * per);
  xs.forEach((x, i) => out.set(x, i * per));
  return { shape: [xs.length, ...shape], data: out };
}

/** Index lists as one [n, k] I32 matrix, short rows padded with −1. */
function padded(rows: readonly number[][], k: number): TypedArrayTensor {
  const out = new Int32Array(rows.length * k).fill(-1);
  rows.forEach((r, i) => out.set(r.slice(0, k), i * k));
  return { shape: [rows.length, k], data: out };
}

function cropTensors(prefix: string, crops: readonly CropDraw[], cfg: VisionConfig, B: number): Record<string, TypedArrayTensor> {
  const S = cfg.model.imageSize;
  const a = cfg.train.augment;
  const P = (S / cfg.model.patchSize) ** 2;
  const out: Record<string, TypedArrayTensor> = {
    [`${prefix}.global`]: stack(crops.map((c) => c.global), [2 * B, S, S, 3]),
    [`${prefix}.local`]: stack(crops.map((c) => c.local), [a.nLocal * B, a.localSize, a.localSize, 3]),
  };
  // iBOT on: one mask per batch (none at all for a cell of no steps).
  if ((stageDino(cfg.train).ibotWeight ?? 0) > 0) out[prefix === 'crops' ? 'ibot' : `${prefix}_ibot`] = stackBytes(crops.map((c) => c.ibot ?? new Uint8Array(2 * B * P)), [2 * B, P]);
  return out;
}

/** The distinct probe splits the suite's probes read, with the layer counts each needs. */
function evalSets(data: VisionData, cfg: VisionConfig): { split: VisionSplit; layers: number[] }[] {
  const tasks = probeTasks(data, cfg.eval);
  const sets: { split: VisionSplit; layers: number[] }[] = [];
  for (const [probe, splits] of Object.entries(tasks) as [ProbeName, { train: VisionSplit; validation: VisionSplit; test: VisionSplit }][]) {
    const L = probeLayers(cfg.eval, probe);
    for (const split of [splits.train, splits.validation, splits.test]) {
      const e = sets.find((x) => x.split === split);
      if (!e) sets.push({ split, layers: [L] });
      else if (!e.layers.includes(L)) e.layers.push(L);
    }
  }
  return sets;
}

/** The mask-statistics targets of the cell a random-masks cell reads (its v-pretraining cell's diagnostics). */
function targetsOf(read: Record<string, number> | undefined): MaskTargets | undefined {
  const keep = read?.keep_ratio;
  const entropy = read?.mask_entropy;
  const tv = read?.mask_tv;
  return keep !== undefined && entropy !== undefined && tv !== undefined && [keep, entropy, tv].every(Number.isFinite) ? { keep, entropy, tv } : undefined;
}

export interface VisionTorchCell {
  cfg: VisionConfig;
  cellId: string;
  seed: number;
  armName: string;
  steps: number;
  data: VisionData;
  cacheDir: string;
  /** Diagnostics of the cell this arm reads (random-masks: its v-pretraining cell). */
  read?: Record<string, number>;
}

export interface WrittenInputs {
  draws: VisionDraws;
  sets: { split: VisionSplit; layers: number[] }[];
  /** The images the mask previews show (held-out probe images, else the training pool), and how many. */
  shown: ImagePool;
  previewN: number;
}

/** Writes `inputs.json` and `inputs.safetensors` of a vision cell into `dir`. */
export function writeVisionTorchInputs(c: VisionTorchCell, dir: string, torch: TorchConfig, mode: 'run' | 'calibrate' | 'bench' = 'run', calibrateCycle = 0, benchWarmup = 0): WrittenInputs {
  mkdirSync(dir, { recursive: true });
  const { cfg, data, steps } = c;
  const arm = visionArmRegistry.get(c.armName);
  const rule = RULES[arm.name];
  if (!rule) throw new Error(`the torch engine has no view rule for vision arm '${arm.name}'`);
  const model = dinoModelConfig(cfg.model);
  const B = cfg.train.batchSize;
  const S = cfg.model.imageSize;
  const rng = new Rng(c.seed);
  const armRng = rng.fork('arm');
  const pools = splitUnlabeled(cfg, data);
  const shown = pools.probe ?? pools.train;
  const previewN = mode === 'run' && shown.size === S ? Math.min(cfg.design.previewImages, shown.n) : 0;
  const draws: VisionDraws = { crops: cropDraws(cfg, pools.train, steps, rng.fork('train')) };
  const tensors: Record<string, TypedArrayTensor> = cropTensors('crops', draws.crops, cfg, B);
  const json: Record<string, unknown> = {};
  if (rule === 'designer') {
    const d = designerDraws(cfg, data, armRng, steps, mode === 'run' ? pools.probe : undefined);
    draws.designer = d;
    for (const [k, v] of Object.entries(d.init)) tensors[`designer.${k}`] = v;
    d.sources.forEach((src, i) => {
      const s = src.split;
      tensors[`feedback.${i}.images`] = { shape: [s.n, s.size, s.size, 3], data: normalizedCopy(s.images) };
      if (src.seg && s.seg) tensors[`feedback.${i}.seg`] = { shape: [s.n, s.labelSize, s.labelSize], data: s.seg };
      if (src.depth && s.depth) tensors[`feedback.${i}.depth`] = { shape: [s.n, s.labelSize, s.labelSize], data: s.depth };
    });
    tensors.feedback_draws = padded(d.feedback.map((f) => f.idx), cfg.design.feedbackBatch);
    tensors.feedback_source = { shape: [d.feedback.length], data: Int32Array.from(d.feedback.map((f) => f.source)) };
    tensors.head_fit = padded(d.headFit.map((f) => f.idx), cfg.design.feedbackBatch);
    tensors.head_fit_source = { shape: [d.headFit.length], data: Int32Array.from(d.headFit.map((f) => f.source)) };
    // design.metaFraction > 0: the heads' images per source (their statistics) and each meta step's refit batch.
    if (cfg.design.metaFraction > 0) {
      d.partition.forEach((p, i) => {
        tensors[`feedback.${i}.head`] = { shape: [p.head.length], data: Int32Array.from(p.head) };
      });
      if (d.refit.length) {
        tensors.refit_draws = padded(d.refit.map((f) => f.idx), cfg.design.feedbackBatch);
        tensors.refit_source = { shape: [d.refit.length], data: Int32Array.from(d.refit.map((f) => f.source)) };
      }
    }
    const k = Math.min(cfg.design.metaBatch, B);
    if (d.metaIbot.length) tensors.meta_ibot = stackBytes(d.metaIbot, [2 * k, gridSize(model.vit) ** 2]);
    if (d.probe.length) Object.assign(tensors, cropTensors('probe', d.probe, cfg, Math.min(cfg.design.metaBatch, pools.probe?.n ?? 0)));
    Object.assign(json, {
      feedback: c.armName === 'random-feedback' ? 'random' : 'true',
      feedbackSources: d.sources.map((s) => ({ seg: s.seg, depth: s.depth, labelSize: s.split.labelSize })),
      numClasses: Math.max(1, data.info.segClasses),
      ignoreLabel: IGNORE_LABEL,
      metaSteps: d.metaSteps,
      probeBatches: d.probe.length,
    });
  }
  if (rule === 'masks') {
    const m = maskDraws(cfg, armRng, steps, targetsOf(c.read), previewN);
    draws.masks = m;
    tensors.masks = stack(m.masks, [2 * B, S, S]);
  }
  const sets = mode === 'run' ? evalSets(data, cfg) : [];
  sets.forEach((e, i) => (tensors[`eval.${i}.images`] = { shape: [e.split.n, S, S, 3], data: normalizedCopy(e.split.images) }));
  if (previewN > 0 && rule === 'designer') {
    tensors['previews.images'] = { shape: [previewN, S, S, 3], data: normalizedCopy(shown.data.subarray(0, previewN * S * S * 3)) };
  }
  const backbone = cfg.model.backbone;
  if (backbone && mode !== 'bench') for (const [k, v] of Object.entries(backboneHead(cfg))) tensors[k] = v;
  saveSafetensors(join(dir, 'inputs.safetensors'), tensors, { format: 'vpt-trainer-inputs' });
  const inputs = {
    protocol: TRAINER_PROTOCOL,
    task: 'vision',
    cell: c.cellId,
    mode,
    device: torch.device,
    dtype: torch.dtype,
    threads: torch.threads,
    directional: torch.directional,
    // A benchmark's learner is random at the configuration's shape (drawn by the engine: speed does not depend on values).
    model: mode === 'bench' ? { kind: 'vpt-dino-vit', init: 'random', dir: '', vit: model.vit, head: model.head }
      : backbone ? { kind: 'hf-dinov2', dir: resolve(backbone), imageSize: S, head: model.head, implementation: cfg.model.implementation }
      : { kind: 'vpt-dino-vit', dir: resolve(visionBaseDir(cfg, data, c.cacheDir)), vit: model.vit, head: model.head },
    train: {
      steps, batchSize: B, logEvery: cfg.train.logEvery, optim: stageOptim({ ...cfg.train, steps }),
      // train.optimizer 'continued': the base stage's AdamW state (a benchmark's random learner has none).
      ...(cfg.train.optimizer === 'continued' && mode !== 'bench' && !backbone ? { optimizerState: resolve(join(visionBaseDir(cfg, data, c.cacheDir), BASE_OPTIMIZER_FILE)) } : {}),
    },
    dino: stageDino(cfg.train),
    arm: { name: arm.name, version: arm.version, rule },
    design: cfg.design,
    // A pretrained backbone's S is named by the engine (the checkpoint's own parameter names).
    subset: backbone && mode !== 'bench' ? { blocks: cfg.design.subsetBlocks } : { from: vitSubsetStart(model.vit, cfg.design.subsetBlocks), names: vitSubsetNames(model.vit, cfg.design.subsetBlocks) },
    seed: c.seed,
    eval: { backbone: cfg.eval.backbone, sets: sets.map((e, i) => ({ index: i, layers: e.layers })) },
    ...(calibrateCycle ? { calibrateCycle } : {}),
    ...(mode === 'bench' ? { bench: { warmup: benchWarmup } } : {}),
    ...json,
  };
  writeFileSync(join(dir, 'inputs.json'), JSON.stringify(inputs, null, 1));
  return { draws, sets, shown, previewN };
}

/** What the engine's result line holds. */
interface VisionTorchResult {
  curve: { step: number; loss: number; lr: number; gradNorm: number }[];
  diagnostics: Record<string, number | null>;
  curves: Record<string, unknown[]>;
  timing: { wallMs: number; msPerStep: number; imagesPerSecond: number; evalMs: number };
  memory: { peakBytes?: number; rssPeakBytes: number };
}

/** Feature functions over the engine's features, one per layer count; a split is known by its image array. */
export function engineFeatures(tensors: Record<string, NamedArray>, sets: WrittenInputs['sets'], cfg: VisionConfig): (layers: number) => FeatureFn {
  const g = cfg.model.imageSize / cfg.model.patchSize;
  return (layers) => (images, n) => {
    const i = sets.findIndex((e) => e.split.images === images);
    const cls = tensors[`features.${i}.${layers}.cls`];
    const patch = tensors[`features.${i}.${layers}.patch`];
    if (i < 0 || !cls || !patch) throw new Error(`the torch engine returned no features of ${layers} block(s) for a probe split of ${n} images`);
    const f: Features = { n, dim: cls.shape[1] as number, grid: g, cls: cls.data, patch: patch.data };
    return f;
  };
}

/** The probes on the engine's features, as evaluateBackbone runs them on tfjs features. */
export function evaluateEngineFeatures(file: string, w: WrittenInputs, c: VisionTorchCell, fixed: ProbeConfig['fixed']): BackboneEvaluation {
  const { tensors } = loadSafetensors(file);
  const fnOf = engineFeatures(tensors, w.sets, c.cfg);
  const byLayers = new Map<number, FeatureFn>();
  const fn = (probe: ProbeName): FeatureFn => {
    const n = probeLayers(c.cfg.eval, probe);
    if (!byLayers.has(n)) byLayers.set(n, fnOf(n));
    return byLayers.get(n) as FeatureFn;
  };
  return evaluateProbes({ segmentation: fn('segmentation'), depth: fn('depth'), classification: fn('classification') }, probeTasks(c.data, c.cfg.eval), c.data.info, { ...probeConfig(c.cfg.eval), fixed });
}

function writePreviews(c: VisionTorchCell, w: WrittenInputs, tensors: Record<string, NamedArray>, outDir: string): string[] {
  if (w.previewN === 0) return [];
  const S = c.cfg.model.imageSize;
  const host = w.shown.data.subarray(0, w.previewN * S * S * 3);
  const masks: [string, Float32Array | undefined][] = w.draws.masks
    ? [['masks-initial.png', w.draws.masks.previews[0]], ['masks-final.png', w.draws.masks.previews[1]]]
    : [['masks-initial.png', tensors['previews.initial']?.data], ['masks-final.png', tensors['previews.final']?.data]];
  const out: string[] = [];
  for (const [name, m] of masks) {
    if (!m) continue;
    writeFileAtomic(join(outDir, name), maskPreviewPng(host, m, w.previewN, S, c.cfg.design.maskBlurSigma, c.cfg.design.maskStrength));
    out.push(name);
  }
  return out;
}

export interface VisionTorchRun {
  hello: EngineMessage;
  result: VisionTorchResult;
  eval: BackboneEvaluation;
  evalMs: number;
  diagnostics: Record<string, number>;
  previews: string[];
}

/** Trains a prepared vision cell on the engine and probes its features (the base checkpoint must exist). */
export async function trainVisionOnTorch(c: VisionTorchCell, dir: string, torch: TorchConfig, fixed: ProbeConfig['fixed'], progress?: ProgressFn): Promise<VisionTorchRun> {
  const { python } = await torchProbe(torch);
  const engineDir = join(dir, 'engine');
  const w = writeVisionTorchInputs(c, engineDir, torch);
  const { hello, final } = await runEngine({
    python, mode: 'run', inputsDir: engineDir, env: threadEnv(torch),
    onMessage: (m) => {
      if (m.type === 'progress') progress?.({ phase: String(m.phase), done: Number(m.done), total: Number(m.total) });
    },
  });
  const result = final as unknown as VisionTorchResult;
  const file = join(engineDir, 'outputs.safetensors');
  const t0 = performance.now();
  const ev = evaluateEngineFeatures(file, w, c, fixed);
  const evalMs = result.timing.evalMs + (performance.now() - t0);
  const previews = writePreviews(c, w, loadSafetensors(file).tensors, dir);
  // The features are large and derived: the inputs stay (the engine can be rerun by hand), the outputs go.
  rmSync(file, { force: true });
  const diagnostics: Record<string, number> = {};
  for (const [k, v] of Object.entries(result.diagnostics)) diagnostics[k] = v ?? Number.NaN;
  if (w.draws.masks) Object.assign(diagnostics, w.draws.masks.summary);
  return { hello, result, eval: ev, evalMs, diagnostics, previews };
}

export async function runVisionOnTorch(s: VisionSuite, cell: CellSpec<VisionSuite['arms'][number]>, paths: CellPaths, data: VisionData, read: Record<string, number> | undefined, progress?: ProgressFn): Promise<CellOutcome> {
  const cfg = configOf(s);
  const steps = cell.plan?.steps ?? s.train.steps;
  const planned: VisionConfig = { ...cfg, train: { ...cfg.train, steps } };
  const torch = visionTorchConfig(s);
  if (!cfg.model.backbone) ensureVisionBase(cfg, data, paths.cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  const fixed = cfg.eval.select !== 'base' ? undefined
    : cfg.model.backbone ? torchBaseChoices(await evaluateTorchBase(s, data, paths.cacheDir, progress)) : baseProbeChoices(cfg, data, paths.cacheDir);
  const c: VisionTorchCell = { cfg: planned, cellId: cell.id, seed: cell.seed, armName: cell.arm.arm, steps, data, cacheDir: paths.cacheDir, ...(read ? { read } : {}) };
  const r = await trainVisionOnTorch(c, paths.dir, torch, fixed, progress);
  const wallMs = r.result.timing.wallMs;
  const tokens = steps * s.train.batchSize * tokensPerImage(s);
  const designer = r.result.curves.designer;
  return {
    metrics: r.eval.metrics,
    higherIsBetter: r.eval.higherIsBetter,
    diagnostics: { ...r.diagnostics, ...metaCost(r.diagnostics, wallMs, steps) },
    dataHashes: data.hashes,
    baseHash: cfg.model.backbone ? backboneHash(cfg) : visionBaseHash(cfg, data),
    steps: { planned: steps, done: steps },
    timings: { trainMs: wallMs, evalMs: r.evalMs, msPerStep: r.result.timing.msPerStep, tokensPerSecond: (tokens / wallMs) * 1000, totalMs: 0 },
    curves: { train: r.result.curve.map((p) => ({ step: p.step, loss: p.loss, lr: p.lr, gradNorm: p.gradNorm })), ...(designer?.length ? { designer } : {}) },
    extra: {
      imagesPerSecond: r.result.timing.imagesPerSecond, probeChoices: r.eval.choices,
      memory: { rssPeakBytes: r.result.memory.rssPeakBytes, ...(r.result.memory.peakBytes !== undefined ? { devicePeakBytes: r.result.memory.peakBytes } : {}) },
      ...(r.previews.length ? { maskPreviews: r.previews } : {}),
    },
    engine: engineInfo(r.hello),
  };
}

/** Timed cycles of the engine's calibrate mode: one warm-up cycle, then this many (as tfjs's tinybench: 1 + 4). */
const CALIBRATION_CYCLES = 4;

/**
 * Per-step cost of `armName` on the torch engine, measured by the engine: cycles of `design.metaEvery` learner
 * steps (2 for arms without a designer) with burn-in 0, so each cycle of a designer arm holds one meta step.
 */
export async function measureVisionTorchStepCost(s: VisionSuite, armName: string, cacheDir: string, data: VisionData): Promise<ArmCost> {
  const torch = visionTorchConfig(s);
  const { python } = await torchProbe(torch);
  const arm = visionArmRegistry.get(armName);
  const cycle = arm.usesDesigner ? s.design.metaEvery : 2;
  const steps = (CALIBRATION_CYCLES + 1) * cycle;
  const cfg = configOf(s);
  if (!cfg.model.backbone) ensureVisionBase(cfg, data, cacheDir);
  const planned: VisionConfig = { ...cfg, train: { ...cfg.train, steps: s.train.steps }, design: { ...cfg.design, burnIn: 0, probeBatches: 0 } };
  const dir = mkdtempSync(join(tmpdir(), 'vpt-torch-vision-calibrate-'));
  try {
    writeVisionTorchInputs({ cfg: planned, cellId: `${s.name}/${armName}/calibration`, seed: 0, armName, steps, data, cacheDir }, dir, torch, 'calibrate', cycle);
    const { final } = await runEngine({ python, mode: 'calibrate', inputsDir: dir, env: threadEnv(torch) });
    const samples = (final.samples ?? []) as number[];
    if (!samples.length) throw new Error(`the torch engine's calibration of '${armName}' recorded no timed cycle`);
    return summariseCosts(samples, Number(final.cycleSteps ?? cycle));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** Each probe's hyperparameter as the backbone's own evaluation chose it on validation (`eval.select: 'base'`). */
function torchBaseChoices(ev: BackboneEvaluation): Partial<Record<ProbeName, number>> {
  return Object.fromEntries(Object.entries(ev.choices).map(([probe, c]) => [probe, c.lr]));
}

/**
 * The probes of a pretrained backbone before continued pretraining (the "base checkpoint" row and, with
 * `eval.select: 'base'`, every cell's probe settings): the engine with no training step writes its features, the
 * probes search their grids; cached where the tfjs base stage caches its evaluation, keyed by the backbone.
 */
export async function evaluateTorchBase(s: VisionSuite, data: VisionData, cacheDir: string, progress?: ProgressFn): Promise<ReferenceEvaluation> {
  const cfg = configOf(s);
  const file = join(cacheDir, 'vision-base', backboneHash(cfg), `eval-${referenceEvalKey(cfg.eval, data.hashes)}.json`);
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ReferenceEvaluation;
  const t0 = performance.now();
  const dir = mkdtempSync(join(tmpdir(), 'vpt-torch-vision-base-'));
  try {
    const c: VisionTorchCell = { cfg: { ...cfg, train: { ...cfg.train, steps: 0 } }, cellId: `${s.name}/base`, seed: s.base.seed, armName: 'baseline', steps: 0, data, cacheDir };
    const r = await trainVisionOnTorch(c, dir, visionTorchConfig(s), undefined, progress);
    const out: ReferenceEvaluation = { ...r.eval, evalMs: performance.now() - t0 };
    writeJsonAtomic(file, out);
    return out;
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}
