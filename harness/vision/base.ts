/**
 * The base-pretraining stage of the vision task: DINO from random initialisation on the unlabeled pool, cached
 * under `<cache>/vision-base/<hash>/` (model.safetensors + config.json + base.json) so every arm and seed
 * continues from the same checkpoint. The hash covers what the checkpoint depends on (model, base stage, the
 * unlabeled pool's contents); evaluations of the checkpoint and of its random initialisation (the two
 * reference rows) are cached beside it per eval settings, so changing a probe setting never retrains.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import type { VisionData } from './data/load.js';
import type { ProbeName } from './probes/config.js';
import { PROBE_EVAL_VERSION, type BackboneEvaluation } from './probes/evaluate.js';
import type { AdamWState } from '../optim/adamw.js';
import { loadAdamWState, saveAdamWState } from '../optim/state-file.js';
import { writeJsonAtomic } from '../results/atomic.js';
import { configHash } from '../suite/hash.js';
import { evaluateBackbone } from './evaluate.js';
import { DinoModel } from './model.js';
import { dinoModelConfig, stageAugment, stageDino, stageOptim, type VisionConfig } from './schema.js';
import { trainDino, type DinoCurvePoint } from './trainer.js';

/** Bumped when the base stage's procedure changes for the same settings (2: the checkpoint carries its AdamW state). */
export const VISION_BASE_VERSION = 2;

/** The base stage's AdamW state beside its checkpoint (`train.optimizer: 'continued'` continues it). */
export const BASE_OPTIMIZER_FILE = 'optimizer.safetensors';

export interface VisionBaseInfo {
  hash: string;
  curve: DinoCurvePoint[];
  wallMs: number;
  msPerStep: number;
  imagesPerSecond: number;
}

type BaseKeys = Pick<VisionConfig, 'model' | 'base'>;

/**
 * The model keys a base checkpoint (and its random initialisation) depends on: `implementation` only says how the
 * torch engine runs a pretrained backbone, which has no base stage.
 */
export function baseModelKeys(model: VisionConfig['model']): Omit<VisionConfig['model'], 'implementation'> {
  const { implementation: _implementation, ...keys } = model;
  return keys;
}

export function visionBaseHash(cfg: BaseKeys, data: VisionData): string {
  return configHash({ v: VISION_BASE_VERSION, model: baseModelKeys(cfg.model), base: cfg.base, unlabeled: data.hashes.unlabeled });
}

export function visionBaseDir(cfg: BaseKeys, data: VisionData, cacheDir: string): string {
  return join(cacheDir, 'vision-base', visionBaseHash(cfg, data));
}

/** The initialisation the base stage starts from (also the "random-init backbone" reference). */
export function initialModel(cfg: BaseKeys): DinoModel {
  return DinoModel.init(dinoModelConfig(cfg.model), new Rng(cfg.base.seed).fork('init'));
}

export function readVisionBase(cfg: BaseKeys, data: VisionData, cacheDir: string): VisionBaseInfo | undefined {
  const f = join(visionBaseDir(cfg, data, cacheDir), 'base.json');
  return existsSync(f) ? (JSON.parse(readFileSync(f, 'utf8')) as VisionBaseInfo) : undefined;
}

/** Trains (or finds cached) the base checkpoint. `onStep(done, total)` reports progress at log points. */
export function ensureVisionBase(cfg: BaseKeys, data: VisionData, cacheDir: string, onStep?: (done: number, total: number) => void): VisionBaseInfo {
  const have = readVisionBase(cfg, data, cacheDir);
  if (have) return have;
  const dir = visionBaseDir(cfg, data, cacheDir);
  const model = initialModel(cfg);
  try {
    const s = cfg.base;
    const res = trainDino({
      model,
      pool: { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images },
      steps: s.steps,
      batchSize: s.batchSize,
      optim: stageOptim(s),
      dino: stageDino(s),
      augment: stageAugment(s, cfg.model),
      rng: new Rng(s.seed).fork('base'),
      logEvery: s.logEvery,
      onLog: (p) => onStep?.(p.step + 1, s.steps),
      keepOptimizerState: true,
    });
    const info: VisionBaseInfo = { hash: visionBaseHash(cfg, data), curve: res.curve, wallMs: res.wallMs, msPerStep: res.msPerStep, imagesPerSecond: res.imagesPerSecond };
    model.save(dir, { stage: 'vision-base', hash: info.hash });
    if (res.optimizerState) saveAdamWState(join(dir, BASE_OPTIMIZER_FILE), res.optimizerState);
    writeJsonAtomic(join(dir, 'base.json'), info);
    return info;
  } finally {
    model.dispose();
  }
}

/** The base stage's final AdamW state (trained if missing). */
export function loadVisionBaseOptimizer(cfg: BaseKeys, data: VisionData, cacheDir: string): AdamWState {
  ensureVisionBase(cfg, data, cacheDir);
  return loadAdamWState(join(visionBaseDir(cfg, data, cacheDir), BASE_OPTIMIZER_FILE));
}

/** The cached base checkpoint (trained if missing). */
export function loadVisionBase(cfg: BaseKeys, data: VisionData, cacheDir: string): DinoModel {
  ensureVisionBase(cfg, data, cacheDir);
  return DinoModel.load(visionBaseDir(cfg, data, cacheDir));
}

export interface ReferenceEvaluation extends BackboneEvaluation {
  /** Wall time of the evaluation, ms. */
  evalMs: number;
}

/**
 * Cache key of a reference row's evaluation: the probe settings and the data. `select` is left out: it says how
 * the cells choose their probes' hyperparameters, and a reference row always searches its own.
 */
export function referenceEvalKey(e: VisionConfig['eval'], dataHashes: Record<string, string>): string {
  const { select: _select, ...settings } = e;
  return configHash({ v: PROBE_EVAL_VERSION, eval: settings, data: dataHashes });
}

function evalKey(cfg: Pick<VisionConfig, 'eval'>, data: VisionData): string {
  return referenceEvalKey(cfg.eval, data.hashes);
}

function cachedEval(file: string, run: () => BackboneEvaluation): ReferenceEvaluation {
  if (existsSync(file)) return JSON.parse(readFileSync(file, 'utf8')) as ReferenceEvaluation;
  const t0 = performance.now();
  const ev = run();
  const out: ReferenceEvaluation = { ...ev, evalMs: performance.now() - t0 };
  writeJsonAtomic(file, out);
  return out;
}

/** Probe metrics of the base checkpoint (the "base checkpoint" row), cached per eval settings and data. */
export function evaluateVisionBase(cfg: Pick<VisionConfig, 'model' | 'base' | 'eval'>, data: VisionData, cacheDir: string): ReferenceEvaluation {
  const file = join(visionBaseDir(cfg, data, cacheDir), `eval-${evalKey(cfg, data)}.json`);
  return cachedEval(file, () => {
    const model = loadVisionBase(cfg, data, cacheDir);
    try {
      return evaluateBackbone(model, data, cfg.eval);
    } finally {
      model.dispose();
    }
  });
}

/** Each probe's hyperparameter as the base checkpoint's evaluation chose it on validation (`eval.select: 'base'`). */
export function baseProbeChoices(cfg: Pick<VisionConfig, 'model' | 'base' | 'eval'>, data: VisionData, cacheDir: string): Partial<Record<ProbeName, number>> {
  const choices = evaluateVisionBase(cfg, data, cacheDir).choices;
  return Object.fromEntries(Object.entries(choices).map(([probe, c]) => [probe, c.lr]));
}

/** Probe metrics of the base stage's random initialisation (the "random-init backbone" row), cached likewise. */
export function evaluateRandomInit(cfg: Pick<VisionConfig, 'model' | 'base' | 'eval'>, data: VisionData, cacheDir: string): ReferenceEvaluation {
  const hash = configHash({ v: VISION_BASE_VERSION, model: baseModelKeys(cfg.model), seed: cfg.base.seed });
  const file = join(cacheDir, 'vision-random-init', hash, `eval-${evalKey(cfg, data)}.json`);
  return cachedEval(file, () => {
    const model = initialModel(cfg);
    try {
      return evaluateBackbone(model, data, cfg.eval);
    } finally {
      model.dispose();
    }
  });
}
