/**
 * One vision cell: continue DINO pretraining from the cached base checkpoint with an arm's view rule and a
 * training seed, then evaluate the frozen backbone. Returns plain data the runner records; writes nothing.
 */
import { Rng } from '../engine/rng.js';
import type { VisionData } from '../data/vision/load.js';
import type { BackboneEvaluation } from '../eval/probes/evaluate.js';
import { loadVisionBase, visionBaseHash } from './base.js';
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
}

export interface VisionCellOptions {
  /** Builds the arm's view rule for the loaded model; default the standard crops (baseline). */
  rule?: (model: DinoModel, rng: Rng) => ViewRule;
  onProgress?: (e: { phase: 'train' | 'eval'; done: number; total: number }) => void;
}

export function runVisionCell(cfg: VisionConfig, seed: number, data: VisionData, cacheDir: string, o: VisionCellOptions = {}): VisionCellResult {
  const model = loadVisionBase(cfg, data, cacheDir);
  const rng = new Rng(seed);
  const rule = o.rule ? o.rule(model, rng.fork('arm')) : standardViews;
  try {
    const s = cfg.train;
    const train = trainDino({
      model,
      pool: { n: data.unlabeled.n, size: data.unlabeled.size, data: data.unlabeled.images },
      steps: s.steps,
      batchSize: s.batchSize,
      optim: stageOptim(s),
      dino: stageDino(s),
      augment: stageAugment(s, cfg.model),
      rng: rng.fork('train'),
      rule,
      logEvery: s.logEvery,
      onLog: (p) => o.onProgress?.({ phase: 'train', done: p.step + 1, total: s.steps }),
    });
    o.onProgress?.({ phase: 'eval', done: 0, total: 1 });
    const t0 = performance.now();
    const ev = evaluateBackbone(model, data, cfg.eval);
    const evalMs = performance.now() - t0;
    o.onProgress?.({ phase: 'eval', done: 1, total: 1 });
    return { baseHash: visionBaseHash(cfg, data), train, eval: ev, evalMs, diagnostics: rule.summary?.() ?? {} };
  } finally {
    rule.dispose?.();
    model.dispose();
  }
}
