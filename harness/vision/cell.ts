/**
 * One vision cell: continue DINO pretraining from the cached base checkpoint with an arm's view rule and a
 * training seed, then evaluate the frozen backbone. Returns plain data the runner records; writes nothing but
 * the masking arms' mask previews (PNG) into `outDir` when given.
 */
import { join } from 'node:path';
import { Rng } from '../engine/rng.js';
import { selectSplit } from './data/types.js';
import type { VisionData } from './data/load.js';
import type { BackboneEvaluation } from './probes/evaluate.js';
import { writeFileAtomic } from '../results/atomic.js';
import type { ImagePool } from './augment.js';
import { baseProbeChoices, loadVisionBase, loadVisionBaseOptimizer, visionBaseHash } from './base.js';
import { maskPreviewPng } from './designer/preview.js';
import { evaluateBackbone } from './evaluate.js';
import type { DinoModel } from './model.js';
import { stageAugment, stageDino, stageOptim, type VisionConfig } from './schema.js';
import { trainDino, type DinoTrainResult } from './trainer.js';
import { standardViews, type ViewRule } from './views.js';

export interface VisionCellResult {
  baseHash: string;
  train: DinoTrainResult;
  eval: BackboneEvaluation;
  evalMs: number;
  /** The view rule's summary (designer diagnostics), empty for the baseline. */
  diagnostics: Record<string, number>;
  /** Mask preview files written (relative to outDir). */
  previews: string[];
}

/** What a rule factory gets besides the model: the held-out probe images. */
export interface RuleExtras {
  probePool?: ImagePool;
}

export interface VisionCellOptions {
  /** Builds the arm's view rule for the loaded model; default the standard crops (baseline). */
  rule?: (model: DinoModel, rng: Rng, extras: RuleExtras) => ViewRule;
  onProgress?: (e: { phase: 'train' | 'eval'; done: number; total: number }) => void;
  /** Folder for mask previews (masks-initial.png, masks-final.png) of masking rules. */
  outDir?: string;
}

/**
 * The unlabeled pool split into the training pool and the one-step probe's held-out images (the last
 * design.probeBatches × design.metaBatch images, held out for every arm so all arms train on the same pool).
 */
export function splitUnlabeled(cfg: VisionConfig, data: VisionData): { train: ImagePool; probe?: ImagePool } {
  const u = data.unlabeled;
  const want = cfg.design.probeBatches * cfg.design.metaBatch;
  const held = want > 0 && want <= u.n / 4 ? want : 0;
  const pool = (idx: number[]): ImagePool => {
    const s = selectSplit(u, idx);
    return { n: s.n, size: s.size, data: s.images };
  };
  if (!held) return { train: { n: u.n, size: u.size, data: u.images } };
  const range = (a: number, b: number): number[] => Array.from({ length: b - a }, (_, i) => a + i);
  return { train: pool(range(0, u.n - held)), probe: pool(range(u.n - held, u.n)) };
}

function writePreview(rule: ViewRule, cfg: VisionConfig, images: ImagePool, outDir: string, name: string): string | undefined {
  const n = Math.min(cfg.design.previewImages, images.n);
  if (!rule.masksFor || n === 0) return undefined;
  const S = images.size;
  const host = images.data.subarray(0, n * S * S * 3);
  const png = maskPreviewPng(host, rule.masksFor(host, n), n, S, cfg.design.maskBlurSigma, cfg.design.maskStrength);
  writeFileAtomic(join(outDir, name), png);
  return name;
}

export function runVisionCell(cfg: VisionConfig, seed: number, data: VisionData, cacheDir: string, o: VisionCellOptions = {}): VisionCellResult {
  const model = loadVisionBase(cfg, data, cacheDir);
  const rng = new Rng(seed);
  const pools = splitUnlabeled(cfg, data);
  const rule = o.rule ? o.rule(model, rng.fork('arm'), pools.probe ? { probePool: pools.probe } : {}) : standardViews;
  const previews: string[] = [];
  const shown = pools.probe ?? pools.train;
  try {
    if (o.outDir && shown.size === cfg.model.imageSize) {
      const f = writePreview(rule, cfg, shown, o.outDir, 'masks-initial.png');
      if (f) previews.push(f);
    }
    const s = cfg.train;
    const train = trainDino({
      model,
      pool: pools.train,
      steps: s.steps,
      batchSize: s.batchSize,
      optim: stageOptim(s),
      dino: stageDino(s),
      augment: stageAugment(s, cfg.model),
      rng: rng.fork('train'),
      rule,
      ...(s.optimizer === 'continued' ? { optimizerState: loadVisionBaseOptimizer(cfg, data, cacheDir) } : {}),
      logEvery: s.logEvery,
      onLog: (p) => o.onProgress?.({ phase: 'train', done: p.step + 1, total: s.steps }),
    });
    if (o.outDir && shown.size === cfg.model.imageSize) {
      const f = writePreview(rule, cfg, shown, o.outDir, 'masks-final.png');
      if (f) previews.push(f);
    }
    const diagnostics = rule.summary?.() ?? {};
    o.onProgress?.({ phase: 'eval', done: 0, total: 1 });
    const t0 = performance.now();
    const ev = evaluateBackbone(model, data, cfg.eval, cfg.eval.select === 'base' ? baseProbeChoices(cfg, data, cacheDir) : undefined);
    const evalMs = performance.now() - t0;
    o.onProgress?.({ phase: 'eval', done: 1, total: 1 });
    return { baseHash: visionBaseHash(cfg, data), train, eval: ev, evalMs, diagnostics, previews };
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}
