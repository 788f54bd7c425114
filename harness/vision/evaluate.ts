/** Frozen-backbone evaluation of a DINO model under a suite's `eval` settings. */
import type { VisionData } from '../data/vision/load.js';
import { evaluateProbes, type BackboneEvaluation, type ProbeTasks } from '../eval/probes/evaluate.js';
import type { ProbeConfig } from '../eval/probes/config.js';
import { backboneFeatures } from './features.js';
import type { DinoModel } from './model.js';
import type { VisionEvalConfig } from './schema.js';

export function probeConfig(e: VisionEvalConfig): ProbeConfig {
  return {
    lrGrid: e.lrGrid, ridgeGrid: e.ridgeGrid, segmentationSteps: e.segmentationSteps, classificationSteps: e.classificationSteps,
    batchImages: e.batchImages, useMeanPatch: e.useMeanPatch, bootstrap: e.bootstrap, seed: e.seed,
  };
}

/** The probes `e.probes` asks for that the data can feed. */
export function probeTasks(data: VisionData, e: VisionEvalConfig): ProbeTasks {
  const t: ProbeTasks = {};
  for (const name of e.probes) {
    const set = data.probes[name];
    if (set) t[name] = set;
  }
  return t;
}

/**
 * Metrics keyed "<metric>,none" for the chosen backbone (teacher or student) of `model`; `fixed` gives probes
 * whose hyperparameter is not searched (default: every probe searches its grid on validation).
 */
export function evaluateBackbone(model: DinoModel, data: VisionData, e: VisionEvalConfig, fixed?: ProbeConfig['fixed']): BackboneEvaluation {
  return evaluateProbes(backboneFeatures(model, e.backbone, 64, e.layers), probeTasks(data, e), data.info, { ...probeConfig(e), fixed });
}
