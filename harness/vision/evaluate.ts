/** Frozen-backbone evaluation of a DINO model under a suite's `eval` settings. */
import type { VisionData } from './data/load.js';
import { evaluateProbes, type BackboneEvaluation, type ProbeTasks } from './probes/evaluate.js';
import type { ProbeConfig, ProbeName } from './probes/config.js';
import type { FeatureFn } from './probes/features.js';
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
    if (set) t[name] = e.report === 'validation' ? { ...set, test: set.validation } : set;
  }
  return t;
}

/**
 * Metrics keyed "<metric>,none" for the chosen backbone (teacher or student) of `model`; `fixed` gives probes
 * whose hyperparameter is not searched (default: every probe searches its grid on validation).
 */
export function evaluateBackbone(model: DinoModel, data: VisionData, e: VisionEvalConfig, fixed?: ProbeConfig['fixed']): BackboneEvaluation {
  // One feature function per layer count, so probes that read the same blocks share one feature pass.
  const byLayers = new Map<number, FeatureFn>();
  const fn = (probe: ProbeName): FeatureFn => {
    const n = probeLayers(e, probe);
    let f = byLayers.get(n);
    if (!f) {
      f = backboneFeatures(model, e.backbone, 64, n);
      byLayers.set(n, f);
    }
    return f;
  };
  const features = { segmentation: fn('segmentation'), depth: fn('depth'), classification: fn('classification') };
  return evaluateProbes(features, probeTasks(data, e), data.info, { ...probeConfig(e), fixed });
}

/** How many final blocks a probe reads under `eval.layers`. */
export function probeLayers(e: VisionEvalConfig, probe: ProbeName): number {
  return typeof e.layers === 'number' ? e.layers : e.layers[probe];
}
