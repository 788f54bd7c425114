/**
 * The vision task: a DINO ViT learner continued-pretrained on unlabeled images, arms that differ only in the
 * global views they show it, and frozen-backbone probes (segmentation mIoU, depth RMSE/AbsRel/δ1, linear top-1).
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Bench } from 'tinybench';
import { visionArmRegistry } from './arms/index.js';
import { DataError } from '../errors.js';
import { loadVisionData, type VisionData } from './data/load.js';
import { BadFilesError } from './data/load-common.js';
import { Rng } from '../engine/rng.js';
import { PROBE_EVAL_VERSION } from './probes/evaluate.js';
import type { CellResult, ReferenceRow } from '../results/schema.js';
import { summariseCosts } from '../bench/step-cost.js';
import { configHash } from '../suite/hash.js';
import type { VisionSuite } from './schema.js';
import { baseModelKeys, ensureVisionBase, evaluateRandomInit, evaluateVisionBase, loadVisionBase, referenceEvalKey, VISION_BASE_VERSION } from './base.js';
import { runVisionCell, splitUnlabeled } from './cell.js';
import { feedbackSources, partitionFeedback } from './designer/feedback.js';
import { MaskDesignerRule } from './designer/rule.js';
import { stageAugment, stageDino, stageOptim, type VisionConfig } from './schema.js';
import { trainDino } from './trainer.js';
import type { CellOutcome, TaskDefinition } from '../tasks/contract.js';
import { metaCost, tokensPerImage } from './outcome.js';
import { backboneProblems } from './backbone.js';

/**
 * The torch engine's side of a cell, imported when a suite asks for it: it starts processes with execa, which a
 * suite loaded as CommonJS outside the repository cannot import.
 */
const torchCell = () => import('./torch-cell.js');

function configOf(s: VisionSuite): VisionConfig {
  return { model: s.model, data: s.data, base: s.base, train: s.train, design: s.design, eval: s.eval };
}

/** The inputs a suite names by path, keyed by the suite key that names them. */
function namedPaths(s: VisionSuite): [string, string][] {
  const out: [string, string][] = [];
  const d = s.data;
  if (d.kind === 'files') {
    out.push(['data.unlabeled', d.unlabeled]);
    for (const k of ['ade20k', 'nyuv2Train', 'nyuv2Test', 'imagenetTrain', 'imagenetTest', 'synsetMapping'] as const) {
      const v = d[k];
      if (v !== undefined) out.push([`data.${k}`, v]);
    }
  }
  if (s.model.backbone !== undefined) out.push(['model.backbone', s.model.backbone]);
  return out;
}

/** Every missing input at once, one line each, with what to get where the suite says (`requires`). */
function checkNamedPaths(s: VisionSuite): void {
  const missing = namedPaths(s).filter(([, path]) => !existsSync(path));
  if (!missing.length) return;
  const lines = missing.map(([key, path]) => `${key}: ${path}: no such ${key === 'data.synsetMapping' ? 'file' : 'folder'}${s.requires?.[key] ? `: get ${s.requires[key]}` : ''}`);
  throw new DataError(missing.length === 1 ? (lines[0] as string) : `${missing.length} inputs are missing (give their paths with --set <key>=<path>):\n${lines.map((l) => `  ${l}`).join('\n')}`);
}

/** Probe label spaces that differ from what the suite expects (`eval.classes`), one line each. */
function classProblems(s: VisionSuite, d: VisionData): string[] {
  const want = s.eval.classes;
  const out: string[] = [];
  if (want?.classification !== undefined && d.info.numClasses !== want.classification) {
    out.push(`eval.classes.classification: the suite expects ${want.classification} image classes, the classification data has ${d.info.numClasses}${s.data.kind === 'files' && s.data.synsetMapping ? ` (${s.data.synsetMapping})` : ''}`);
  }
  if (want?.segmentation !== undefined && d.info.segClasses !== want.segmentation) {
    out.push(`eval.classes.segmentation: the suite expects ${want.segmentation} segmentation classes, the segmentation data has ${d.info.segClasses}`);
  }
  return out;
}

/** Loads the suite's images; a bad file or folder is one line naming it (and the suite key). */
function visionData(s: VisionSuite): VisionData {
  try {
    return loadVisionData(s.data, s.model.imageSize);
  } catch (e) {
    if (e instanceof DataError) throw e;
    // Every bad file (up to a handful) with its reason, on the one line.
    if (e instanceof BadFilesError) throw new DataError(`data: ${e.summary()}`);
    throw new DataError(`data: ${(e as Error).message.split('\n')[0]}`);
  }
}

async function runVisionTaskCell(...[s, cell, paths, progress]: Parameters<TaskDefinition<VisionSuite>['runCell']>): Promise<CellOutcome> {
  const data = visionData(s);
  const read = paths.reads ? readDiagnostics(paths.reads) : undefined;
  if (s.trainer === 'torch') return (await torchCell()).runVisionOnTorch(s, cell, paths, data, read, progress);
  const arm = visionArmRegistry.get(cell.arm.arm);
  const steps = cell.plan?.steps ?? s.train.steps;
  const cfg = configOf(s);
  const planned: VisionConfig = { ...cfg, train: { ...cfg.train, steps } };
  ensureVisionBase(cfg, data, paths.cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
  let designer: unknown[] | undefined;
  const r = runVisionCell(planned, cell.seed, data, paths.cacheDir, {
    rule: (model, rng, extras) => {
      const rule = arm.create({ model, config: planned, data, rng, steps, ...extras, ...(read ? { read } : {}) });
      if (rule instanceof MaskDesignerRule) designer = rule.curve;
      return rule;
    },
    onProgress: (e) => progress?.(e),
    outDir: paths.dir,
  });
  const tokens = steps * s.train.batchSize * tokensPerImage(s);
  return {
    metrics: r.eval.metrics,
    higherIsBetter: r.eval.higherIsBetter,
    diagnostics: { ...r.diagnostics, ...metaCost(r.diagnostics, r.train.wallMs, steps) },
    dataHashes: data.hashes,
    baseHash: r.baseHash,
    steps: { planned: steps, done: steps },
    timings: { trainMs: r.train.wallMs, evalMs: r.evalMs, msPerStep: r.train.msPerStep, tokensPerSecond: (tokens / r.train.wallMs) * 1000, totalMs: 0 },
    curves: {
      train: r.train.curve.map((p) => ({ step: p.step, loss: p.loss, lr: p.lr, gradNorm: p.gradNorm })),
      ...(designer?.length ? { designer } : {}),
    },
    extra: {
      imagesPerSecond: r.train.imagesPerSecond, trainCpuMs: r.train.cpuMs, probeChoices: r.eval.choices,
      ...(r.previews.length ? { maskPreviews: r.previews } : {}),
    },
  };
}

/** The diagnostics of the cell record a cell reads (the runner checked it exists and completed). */
function readDiagnostics(file: string): Record<string, number> {
  const rec = JSON.parse(readFileSync(file, 'utf8')) as { diagnostics?: Record<string, number> };
  return rec.diagnostics ?? {};
}

/** Cached evaluations of the base checkpoint and its random initialisation (written by prepareBase). */
function visionReferences(s: VisionSuite, results: readonly CellResult[], cacheDir: string): ReferenceRow[] {
  const done = results.find((r) => r.status === 'completed' && r.config?.baseHash);
  if (!done) return [];
  const key = referenceEvalKey(s.eval, done.dataHashes as Record<string, string>);
  const rows: ReferenceRow[] = [];
  const add = (file: string, id: string, label: string, note: string): void => {
    if (!existsSync(file)) return;
    const ev = JSON.parse(readFileSync(file, 'utf8')) as { metrics: ReferenceRow['metrics'] };
    rows.push({ id, label, note, metrics: ev.metrics });
  };
  const initHash = configHash({ v: VISION_BASE_VERSION, model: baseModelKeys(s.model), seed: s.base.seed });
  add(join(cacheDir, 'vision-random-init', initHash, `eval-${key}.json`), 'random-init', 'random-init backbone', 'no pretraining');
  add(join(cacheDir, 'vision-base', done.config.baseHash as string, `eval-${key}.json`), 'base', 'base checkpoint', 'before continued pretraining');
  return rows;
}

export const visionTask: TaskDefinition<VisionSuite> = {
  name: 'vision',
  description: 'DINO ViT continued pretraining on images; segmentation, depth and classification probes',
  arms: visionArmRegistry,
  evalVersions: { probes: PROBE_EVAL_VERSION },
  // The DINO trainer, the feature extractor and the probes read tensors synchronously (dataSync) between
  // steps; WebGPU in Node has no synchronous read.
  unsupportedBackends: { webgpu: 'its trainer and probes read tensors synchronously, which WebGPU in Node cannot; use wasm (or auto)' },
  checkSuite(s) {
    const out: string[] = [];
    const m = s.model;
    if (m.imageSize % m.patchSize !== 0) out.push(`model.imageSize: ${m.imageSize} is not a multiple of model.patchSize ${m.patchSize}`);
    if (m.width % m.heads !== 0) out.push(`model.heads: ${m.heads} does not divide model.width ${m.width}`);
    if (m.posInit === 'sincos' && m.width % 4 !== 0) out.push(`model.posInit: 'sincos' needs model.width divisible by 4, got ${m.width}`);
    for (const stage of m.backbone ? (['train'] as const) : (['base', 'train'] as const)) {
      const a = s[stage].augment;
      if (a.localSize % m.patchSize !== 0) out.push(`${stage}.augment.localSize: ${a.localSize} is not a multiple of model.patchSize ${m.patchSize}`);
      if (a.localSize > m.imageSize) out.push(`${stage}.augment.localSize: ${a.localSize} exceeds model.imageSize ${m.imageSize}`);
    }
    if (s.design.keepCentering && (s.design.keepTarget <= 0 || s.design.keepTarget >= 1)) {
      out.push(`design.keepTarget: ${s.design.keepTarget} must lie strictly between 0 and 1 with design.keepCentering`);
    }
    out.push(...backboneProblems(configOf(s), s.trainer));
    if (s.design.subsetBlocks > m.depth) out.push(`design.subsetBlocks: ${s.design.subsetBlocks} exceeds model.depth ${m.depth}`);
    const cell = s.design.designerScale * 2 ** (s.design.designerLevels - 1);
    if (m.imageSize % cell !== 0) {
      out.push(`design.designerLevels: ${s.design.designerLevels} levels at design.designerScale ${s.design.designerScale} need model.imageSize divisible by ${cell}, got ${m.imageSize}`);
    }
    return out;
  },
  async preflight(s) {
    checkNamedPaths(s);
    const d = visionData(s);
    const classes = classProblems(s, d);
    if (classes.length) throw new DataError(classes.join('\n'));
    if (d.unlabeled.n < s.train.batchSize) throw new DataError(`data: ${d.unlabeled.n} unlabeled images, fewer than one batch of train.batchSize ${s.train.batchSize}`);
    const probes = Object.entries(d.probes).filter(([, v]) => v).map(([k, v]) => `${k} ${v?.train.n}/${v?.validation.n}/${v?.test.n}`);
    if (!probes.length) throw new DataError('data: no probe has labelled data (give ADE20K, NYUv2 or ImageNet folders, or use the embedded scenes)');
    if (s.arms.some((a) => visionArmRegistry.get(a.arm).usesDesigner)) {
      try {
        partitionFeedback(feedbackSources(d, { seg: s.design.segWeight, depth: s.design.depthWeight }), s.design.metaFraction, s.design.feedbackBatch);
      } catch (e) {
        throw new DataError(`data: ${(e as Error).message}`);
      }
    }
    const engine = s.trainer === 'torch' ? await (await torchCell()).visionTorchEngineInfo(s) : undefined;
    const summary = `unlabeled ${d.unlabeled.n}, probes train/validation/test: ${probes.join(', ')}`;
    return { hashes: d.hashes, summary: engine ? `${summary}; torch ${engine.torchVersion} on ${engine.device}` : summary };
  },
  async prepareBase(s, cacheDir, progress) {
    const cfg = configOf(s);
    const data = visionData(s);
    if (cfg.model.backbone) {
      // A pretrained backbone is the base: its probes (the reference row) on the torch engine; no random-init row.
      progress?.({ phase: 'reference probes', done: 0, total: 1 });
      await (await torchCell()).evaluateTorchBase(s, data, cacheDir);
      progress?.({ phase: 'reference probes', done: 1, total: 1 });
      return;
    }
    ensureVisionBase(cfg, data, cacheDir, (done, total) => progress?.({ phase: 'base', done, total }));
    progress?.({ phase: 'reference probes', done: 0, total: 2 });
    evaluateVisionBase(cfg, data, cacheDir);
    progress?.({ phase: 'reference probes', done: 1, total: 2 });
    evaluateRandomInit(cfg, data, cacheDir);
  },
  runCell: runVisionTaskCell,
  async measureStepCost(s, armName, cacheDir) {
    const data = visionData(s);
    if (s.trainer === 'torch') return (await torchCell()).measureVisionTorchStepCost(s, armName, cacheDir, data);
    const arm = visionArmRegistry.get(armName);
    const cfg = configOf(s);
    const model = loadVisionBase(cfg, data, cacheDir);
    const rng = new Rng(0).fork('calibration');
    const pools = splitUnlabeled(cfg, data);
    // Burn-in 0 and cycles of metaEvery steps: each timed cycle holds exactly one meta step for a designer arm
    // (the heads' one-off first fit falls in the warm-up cycle); the one-step probe is not part of a step.
    const design = { ...cfg.design, burnIn: 0, probeBatches: 0 };
    const rule = arm.create({ model, config: { ...cfg, design }, data, rng: rng.fork('arm'), steps: s.train.steps });
    const cycle = arm.usesDesigner ? s.design.metaEvery : 2;
    try {
      const bench = new Bench({ iterations: 4, warmupIterations: 1, time: 0, warmupTime: 0, retainSamples: true });
      bench.add(armName, () => {
        trainDino({
          model, pool: pools.train, steps: cycle, batchSize: s.train.batchSize,
          optim: stageOptim(s.train), dino: stageDino(s.train), augment: stageAugment(s.train, s.model), rng: rng.fork('data'), rule, logEvery: cycle,
        });
      });
      await bench.run();
      const samples = (bench.tasks[0]?.result as { latency?: { samples?: number[] } } | undefined)?.latency?.samples ?? [];
      if (!samples.length) throw new Error(`calibration of '${armName}' recorded no timed cycle`);
      return summariseCosts(samples.map((ms) => ms / cycle), cycle);
    } finally {
      rule.dispose?.();
      model.dispose();
    }
  },
  trainerEngine: async (s) => (s.trainer === 'torch' ? (await torchCell()).visionTorchEngineInfo(s) : undefined),
  referenceRows: visionReferences,
  // Imported when run: the torch side starts processes with execa (ESM-only), and tfjs's side trains in this process.
  bench: {
    presets: {
      'vit-s': 'ViT-S/16 (22M) at 224 px, DINO head 65,536', 'vit-b': 'ViT-B/16 (86M) at 224 px, DINO head 65,536', 'vit-l': 'ViT-L/16 (304M) at 224 px, DINO head 65,536',
    },
    overhead: async (req, services) => (await import('./bench/overhead.js')).visionBench.overhead(req, services),
  },
  headline(r) {
    const m = r.metrics;
    const pct = (k: string): string => (m[k] ? `${(100 * m[k].value).toFixed(1)}%` : 'n/a');
    return `mIoU ${pct('miou,none')} · RMSE ${m['rmse,none']?.value.toFixed(3) ?? 'n/a'} · top-1 ${pct('top1,none')}`;
  },
  tools: {
    'vision-step': {
      description: "one DINO step and its parts (crops, teacher targets, student forward + backward, update) on a vision suite's model (tinybench)",
      // Imported when run: tinybench is ESM-only, and suite files outside the repository load this module as CommonJS.
      run: async (argv, services) => (await import('./bench/vision-step.bench.js')).runVisionStep(argv, services),
    },
  },
};
